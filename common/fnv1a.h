/* fnv1a: the 64-bit FNV-1a hash, the one hash of the project (name
 * lookups, the training-data fingerprint, the split digest): short inputs,
 * good enough spread, no dependencies. Not for anything adversarial. */
#ifndef GP_FNV1A_H
#define GP_FNV1A_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT 1469598103934665603ULL

/* Continues hash h over n bytes at p; start from FNV1A_INIT. */
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t k = 0; k < n; k++) {
        h ^= b[k];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
