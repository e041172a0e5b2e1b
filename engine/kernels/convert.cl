// Conversions to the output formats, as the CPU path writes them: a float clipped to 0..1,
// scaled to the integer range and rounded half to even (numpy's round; OpenCL's rint), so
// the integers are bit-exact. No fused multiply-add: the product is rounded to float first.

__kernel void quantize_u16(__global const float *src, __global ushort *dst, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float scaled = clamp(src[i], 0.0f, 1.0f) * 65535.0f;
    dst[i] = (ushort)rint(scaled);
}

__kernel void quantize_u8(__global const float *src, __global uchar *dst, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float scaled = clamp(src[i], 0.0f, 1.0f) * 255.0f;
    dst[i] = (uchar)rint(scaled);
}
