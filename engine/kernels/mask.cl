// The matte propagation's temporal smoothing (engine/matte/propagate.py): the tracker's new
// mask blended with the previous smoothed mask carried along the flow. Contraction off, so
// the two products are rounded to float before the sum, as numpy does.
#pragma OPENCL FP_CONTRACT OFF

__kernel void mask_smooth(__global const float *raw, __global const float *carried,
                          __global float *out, int n, float keep_raw, float keep_carried) {
    int i = get_global_id(0);
    if (i >= n) return;
    out[i] = keep_raw * raw[i] + keep_carried * carried[i];
}
