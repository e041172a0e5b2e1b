// Joint bilateral upsampling, as engine/depth/upsample.py: for each output pixel the 2x2
// working pixels around it, each weighted by its bilinear weight times how close its colour
// (the plate at working size) is to the output pixel's colour (a 256-entry table per channel
// difference). Gather indices and bilinear weights come from the host, computed as on the CPU.
// Contraction off and the CPU's order of operations: the result is bit-exact with the CPU's
// wherever the division is correctly rounded (see runtime.py's build options), so a 16-bit
// PNG of it has the CPU's integers.
#pragma OPENCL FP_CONTRACT OFF

__kernel void jbu(__global const float *values, __global const uchar *small,
                  __global const uchar *guide, __global const int *qx, __global const float *wx,
                  __global const int *qy, __global const float *wy,
                  __constant float *table, __global float *out, int w, int W, int H) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= W || y >= H) return;
    size_t o = (size_t)y * W + x;
    int gr = guide[3 * o], gg = guide[3 * o + 1], gb = guide[3 * o + 2];
    float total = 0.0f, weights = 0.0f;
    for (int j = 0; j < 2; ++j) {
        int sy = qy[2 * y + j];
        float fy = wy[2 * y + j];
        for (int i = 0; i < 2; ++i) {
            int sx = qx[2 * x + i];
            size_t s = (size_t)sy * w + sx;
            float spatial = fy * wx[2 * x + i];
            float weight = table[abs(small[3 * s] - gr)] * table[abs(small[3 * s + 1] - gg)];
            weight *= table[abs(small[3 * s + 2] - gb)];
            weight *= spatial;
            total += weight * values[s];
            weights += weight;
        }
    }
    out[o] = total / weights;
}
#pragma OPENCL FP_CONTRACT ON
