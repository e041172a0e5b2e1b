// Flow-based warping (engine/imaging/flow.sample) and the depth's temporal blend
// (engine/depth/temporal.py). Bilinear reads at the exact source position, as cv2.remap does
// for float maps since OpenCV 5 (no rounding to 1/32 pixel).

inline float fetch(__global const float *img, int x, int y, int w, int h, int replicate,
                   float outside) {
    if (replicate) {
        x = clamp(x, 0, w - 1);
        y = clamp(y, 0, h - 1);
    } else if (x < 0 || y < 0 || x >= w || y >= h) {
        return outside;
    }
    return img[(size_t)y * w + x];
}

inline float bilinear(__global const float *img, float sx, float sy, int w, int h,
                      int replicate, float outside) {
    float fx = floor(sx), fy = floor(sy);
    int x0 = (int)fx, y0 = (int)fy;
    float ax = sx - fx, ay = sy - fy;
    float v00 = fetch(img, x0, y0, w, h, replicate, outside);
    float v01 = fetch(img, x0 + 1, y0, w, h, replicate, outside);
    float v10 = fetch(img, x0, y0 + 1, w, h, replicate, outside);
    float v11 = fetch(img, x0 + 1, y0 + 1, w, h, replicate, outside);
    return v00 * ((1.0f - ax) * (1.0f - ay)) + v01 * (ax * (1.0f - ay))
           + v10 * ((1.0f - ax) * ay) + v11 * (ax * ay);
}

// image read at (x, y) + field[y, x]; outside the frame the edge value (replicate) or `outside`.
__kernel void warp(__global const float *image, __global const float *field,
                   __global float *out, int w, int h, int replicate, float outside) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= w || y >= h) return;
    size_t i = (size_t)y * w + x;
    out[i] = bilinear(image, (float)x + field[2 * i], (float)y + field[2 * i + 1], w, h,
                      replicate, outside);
}

// One frame of the causal temporal filter: blend with the previous output carried along the
// flow where it lands inside the frame, looks the same, and agrees in depth.
__kernel void temporal_blend(__global const float *values, __global const float *prev_out,
                             __global const float *field, __global const float *grey_here,
                             __global const float *grey_prev, __global float *out, int w,
                             int h, float strength, float tolerance, float photometric) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= w || y >= h) return;
    size_t i = (size_t)y * w + x;
    float sx = (float)x + field[2 * i], sy = (float)y + field[2 * i + 1];
    float v = values[i];
    float warped = bilinear(prev_out, sx, sy, w, h, 1, 0.0f);
    float seen = fabs(bilinear(grey_prev, sx, sy, w, h, 1, 0.0f) - grey_here[i]);
    int inside = sx >= 0.0f && sy >= 0.0f && sx <= (float)(w - 1) && sy <= (float)(h - 1);
    int agree = fabs(warped - v) <= tolerance * fmax(fabs(v), fabs(warped));
    out[i] = (inside && seen < photometric && agree) ? v + strength * (warped - v) : v;
}
