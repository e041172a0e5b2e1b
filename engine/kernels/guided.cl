// Colour guided filter (He, Sun and Tang) on a strip of rows of the crop around a matte's
// edge, the same steps as engine/matte/refine.py: products, box means, per-pixel 3x3
// solve, box means of the coefficients, output. Planes are stored one after another
// (plane p, row y, column x at [(p * rows + y) * w + x]). A strip holds its rows plus a halo
// of 2r rows each side; rows are reflected at the crop's own top and bottom (crop_y0 is the
// strip's first row in crop coordinates, crop_h the crop's height).

__kernel void gf_products(__global const uchar *guide, __global const uchar *hard,
                          __global float *planes, int w, int rows) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= w || y >= rows) return;
    size_t i = (size_t)y * w + x, n = (size_t)w * rows;
    const float k = 1.0f / 255.0f;
    float r = (float)guide[3 * i] * k, g = (float)guide[3 * i + 1] * k,
          b = (float)guide[3 * i + 2] * k, p = (float)hard[i];
    planes[i] = r; planes[n + i] = g; planes[2 * n + i] = b; planes[3 * n + i] = p;
    planes[4 * n + i] = r * p; planes[5 * n + i] = g * p; planes[6 * n + i] = b * p;
    planes[7 * n + i] = r * r; planes[8 * n + i] = r * g; planes[9 * n + i] = r * b;
    planes[10 * n + i] = g * g; planes[11 * n + i] = g * b; planes[12 * n + i] = b * b;
}

// Mean over 2r+1 columns, reflecting at the left and right edges. Plane index: dimension 2.
__kernel void box_rows(__global const float *src, __global float *dst, int w, int rows,
                       int r, int first_plane) {
    int x = get_global_id(0), y = get_global_id(1), p = get_global_id(2) + first_plane;
    if (x >= w || y >= rows) return;
    __global const float *row = src + ((size_t)p * rows + y) * w;
    float s = 0.0f;
    for (int k = -r; k <= r; ++k) s += row[reflect_index(x + k, w)];
    dst[((size_t)p * rows + y) * w + x] = s / (float)(2 * r + 1);
}

// Mean over 2r+1 rows, reflecting at the crop's top and bottom. A row the strip does not
// hold only feeds halo rows whose results are never used; it is clamped to stay in bounds.
__kernel void box_cols(__global const float *src, __global float *dst, int w, int rows,
                       int r, int first_plane, int crop_y0, int crop_h) {
    int x = get_global_id(0), y = get_global_id(1), p = get_global_id(2) + first_plane;
    if (x >= w || y >= rows) return;
    __global const float *plane = src + (size_t)p * rows * w;
    float s = 0.0f;
    for (int k = -r; k <= r; ++k) {
        int yy = clamp(reflect_index(crop_y0 + y + k, crop_h) - crop_y0, 0, rows - 1);
        s += plane[(size_t)yy * w + x];
    }
    dst[((size_t)p * rows + y) * w + x] = s / (float)(2 * r + 1);
}

// From the 13 box means to the 4 coefficient planes a_r, a_g, a_b, b (closed-form inverse of
// the regularised 3x3 covariance, as on the CPU).
__kernel void gf_coeffs(__global const float *m, __global float *coef, int w, int rows,
                        float eps) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= w || y >= rows) return;
    size_t i = (size_t)y * w + x, n = (size_t)w * rows;
    float mr = m[i], mg = m[n + i], mb = m[2 * n + i], mp = m[3 * n + i];
    float cr = m[4 * n + i] - mr * mp, cg = m[5 * n + i] - mg * mp, cb = m[6 * n + i] - mb * mp;
    float rr = m[7 * n + i] - mr * mr + eps, rg = m[8 * n + i] - mr * mg;
    float rb = m[9 * n + i] - mr * mb, gg = m[10 * n + i] - mg * mg + eps;
    float gb = m[11 * n + i] - mg * mb, bb = m[12 * n + i] - mb * mb + eps;
    float inv_rr = gg * bb - gb * gb, inv_rg = gb * rb - rg * bb, inv_rb = rg * gb - gg * rb;
    float inv_gg = rr * bb - rb * rb, inv_gb = rb * rg - rr * gb, inv_bb = rr * gg - rg * rg;
    float det = rr * inv_rr + rg * inv_rg + rb * inv_rb;
    float ar = (inv_rr * cr + inv_rg * cg + inv_rb * cb) / det;
    float ag = (inv_rg * cr + inv_gg * cg + inv_gb * cb) / det;
    float ab = (inv_rb * cr + inv_gb * cg + inv_bb * cb) / det;
    coef[i] = ar; coef[n + i] = ag; coef[2 * n + i] = ab;
    coef[3 * n + i] = mp - ar * mr - ag * mg - ab * mb;
}

// Alpha of the strip's own rows (skipping `halo` rows of the strip): the filtered value,
// clipped to 0..1, inside the band; the hard edge elsewhere.
__kernel void gf_output(__global const float *planes, __global const float *coef,
                        __global const uchar *hard, __global const uchar *band,
                        __global float *alpha, int w, int rows, int halo, int out_rows) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= w || y >= out_rows) return;
    size_t i = (size_t)(y + halo) * w + x, n = (size_t)w * rows;
    float q = coef[i] * planes[i] + coef[n + i] * planes[n + i]
              + coef[2 * n + i] * planes[2 * n + i] + coef[3 * n + i];
    alpha[(size_t)y * w + x] = band[i] ? clamp(q, 0.0f, 1.0f) : (float)hard[i];
}
