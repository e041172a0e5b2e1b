"use strict";
// Premiere counts time in ticks: 254016000000 a second, a whole number for every common
// frame rate. A sequence's timebase is the ticks of one of its frames, as a string.

const TICKS_PER_SECOND = 254016000000;

/** Frames a second of a sequence whose timebase (ticks a frame) is `timebase`. */
function rateFromTimebase(timebase) {
  const ticks = Number(timebase);
  if (!Number.isFinite(ticks) || ticks <= 0) {
    throw new Error(`not a timebase (ticks a frame): ${timebase}`);
  }
  return TICKS_PER_SECOND / ticks;
}

/** Ticks of a TickTime (its `ticks` string, or `ticksNumber`), as a Number. */
function ticksOf(tickTime) {
  if (tickTime == null) return 0;
  if (tickTime.ticks !== undefined) return Number(tickTime.ticks);
  if (tickTime.ticksNumber !== undefined) return Number(tickTime.ticksNumber);
  return Math.round(Number(tickTime.seconds || 0) * TICKS_PER_SECOND);
}

/** The whole frame (of `timebase` ticks) at which `tickTime` falls, rounded to the nearest. */
function framesOf(tickTime, timebase) {
  return Math.round(ticksOf(tickTime) / Number(timebase));
}

/** A TickTime at sequence frame `frame`, built through the host's own factory. */
function tickTimeAtFrame(ppro, frame, timebase) {
  return ppro.TickTime.createWithTicks(String(Math.round(frame * Number(timebase))));
}

module.exports = { TICKS_PER_SECOND, rateFromTimebase, ticksOf, framesOf, tickTimeAtFrame };
