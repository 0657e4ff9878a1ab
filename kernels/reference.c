/* reference: naive versions of every optimized kernel, single-threaded
 * loops written to be obviously correct. Only the tests call them; they are
 * compiled in so that any build can check its optimized kernels. */
#include <math.h>

#include "kernels.h"

void gemm_forward_ref(float *Y, const float *X, const float *W, int64_t M, int K, int N, int accumulate)
{
    for (int64_t i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) s += X[i * K + k] * W[(int64_t)k * N + j];
            Y[i * N + j] = accumulate ? Y[i * N + j] + s : s;
        }
}

/* dX[M x K] (= or +=) dY[M x N] W^T, with W[K x N] itself */
void gemm_backward_data_ref(float *dX, const float *dY, const float *W, int64_t M, int K, int N, int accumulate)
{
    for (int64_t i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            float s = 0.0f;
            for (int j = 0; j < N; j++) s += dY[i * N + j] * W[(int64_t)k * N + j];
            dX[i * K + k] = accumulate ? dX[i * K + k] + s : s;
        }
}

void gemm_backward_weight_ref(float *dW, const float *X, const float *dY, int64_t M, int K, int N)
{
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int64_t i = 0; i < M; i++) s += X[i * K + k] * dY[i * N + j];
            dW[(int64_t)k * N + j] += s;
        }
}

static int64_t deg_of(const int64_t *ptr, int64_t i)
{
    return ptr[i + 1] - ptr[i];
}

void csr_sum_forward_ref(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d)
{
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < d; c++) {
            float s = 0.0f;
            for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) s += in[idx[e] * d + c];
            out[i * d + c] = s;
        }
}

void csr_mean_forward_ref(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d)
{
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < d; c++) {
            float s = 0.0f;
            for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) s += in[idx[e] * d + c];
            out[i * d + c] = deg_of(ptr, i) > 0 ? s / (float)deg_of(ptr, i) : 0.0f;
        }
}

void csr_max_forward_ref(float *out, int64_t *arg, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n,
                         int d)
{
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < d; c++) {
            float m = 0.0f;
            int64_t a = -1;
            for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {
                const float v = in[idx[e] * d + c];
                if (a < 0 || v > m) { /* strict: a tie keeps the earlier neighbour */
                    m = v;
                    a = idx[e];
                }
            }
            out[i * d + c] = m;
            arg[i * d + c] = a;
        }
}

void csr_sum_backward_ref(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *idx, int64_t n, int d)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++)
            for (int c = 0; c < d; c++) d_in[idx[e] * d + c] += d_out[i * d + c];
}

void csr_mean_backward_ref(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *idx, int64_t n, int d)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++)
            for (int c = 0; c < d; c++) d_in[idx[e] * d + c] += d_out[i * d + c] / (float)deg_of(ptr, i);
}

void csr_max_backward_ref(float *d_in, const float *d_out, const int64_t *arg, int64_t n, int d)
{
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < d; c++)
            if (arg[i * d + c] >= 0) d_in[arg[i * d + c] * d + c] += d_out[i * d + c];
}

void segment_sum_forward_ref(float *out, const float *in, const int64_t *off, int64_t G, int d)
{
    for (int64_t g = 0; g < G; g++)
        for (int c = 0; c < d; c++) {
            float s = 0.0f;
            for (int64_t r = off[g]; r < off[g + 1]; r++) s += in[r * d + c];
            out[g * d + c] = s;
        }
}

void segment_mean_forward_ref(float *out, const float *in, const int64_t *off, int64_t G, int d)
{
    for (int64_t g = 0; g < G; g++)
        for (int c = 0; c < d; c++) {
            float s = 0.0f;
            for (int64_t r = off[g]; r < off[g + 1]; r++) s += in[r * d + c];
            out[g * d + c] = off[g + 1] > off[g] ? s / (float)(off[g + 1] - off[g]) : 0.0f;
        }
}

void segment_max_forward_ref(float *out, int64_t *arg, const float *in, const int64_t *off, int64_t G, int d)
{
    for (int64_t g = 0; g < G; g++)
        for (int c = 0; c < d; c++) {
            float m = 0.0f;
            int64_t a = -1;
            for (int64_t r = off[g]; r < off[g + 1]; r++)
                if (a < 0 || in[r * d + c] > m) {
                    m = in[r * d + c];
                    a = r;
                }
            out[g * d + c] = m;
            arg[g * d + c] = a;
        }
}

void segment_sum_backward_ref(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d)
{
    for (int64_t g = 0; g < G; g++)
        for (int64_t r = off[g]; r < off[g + 1]; r++)
            for (int c = 0; c < d; c++) d_in[r * d + c] += d_out[g * d + c];
}

void segment_mean_backward_ref(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d)
{
    for (int64_t g = 0; g < G; g++)
        for (int64_t r = off[g]; r < off[g + 1]; r++)
            for (int c = 0; c < d; c++) d_in[r * d + c] += d_out[g * d + c] / (float)(off[g + 1] - off[g]);
}

void segment_max_backward_ref(float *d_in, const float *d_out, const int64_t *arg, int64_t G, int d)
{
    for (int64_t g = 0; g < G; g++)
        for (int c = 0; c < d; c++)
            if (arg[g * d + c] >= 0) d_in[arg[g * d + c] * d + c] += d_out[g * d + c];
}

void transpose_ref(float *dst, const float *src, int rows, int cols)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) dst[(int64_t)j * rows + i] = src[(int64_t)i * cols + j];
}

void bias_forward_ref(float *Y, const float *b, int64_t M, int N)
{
    for (int64_t i = 0; i < M; i++)
        for (int c = 0; c < N; c++) Y[i * N + c] += b[c];
}

void bias_backward_ref(float *db, const float *dY, int64_t M, int N)
{
    for (int64_t i = 0; i < M; i++)
        for (int c = 0; c < N; c++) db[c] += dY[i * N + c];
}

void relu_forward_ref(float *out, const float *in, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward_ref(float *d_in, const float *d_out, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) d_in[i] = y[i] > 0.0f ? d_out[i] : 0.0f;
}

void silu_forward_ref(float *out, const float *in, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = in[i] / (1.0f + expf(-in[i]));
}

void silu_backward_ref(float *d_in, const float *d_out, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-x[i]));
        d_in[i] = d_out[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}
