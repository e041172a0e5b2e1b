// Shared by every kernel of the module. Index helpers follow OpenCV's border rules, so the
// results match the CPU path (cv2) pixel for pixel up to float rounding.

// BORDER_REFLECT: fedcba|abcdefgh|hgfedcb (the edge pixel repeated).
inline int reflect_index(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) {
        i = i < 0 ? -i - 1 : 2 * n - i - 1;
    }
    return i;
}
