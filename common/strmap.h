/* strmap: a string -> int64 hash map used for name lookups (node names inside
 * a graph, graph and device names in a label table) and duplicate checks.
 *
 * Keys are copied into the map's own storage; the map owns all its memory and
 * strmap_free releases it. Open addressing with linear probing, grown at 50%
 * load so lookups stay short. */
#ifndef GP_STRMAP_H
#define GP_STRMAP_H

#include <stdint.h>
#include <stddef.h>

typedef struct strmap {
    char **keys;      /* capacity slots, NULL when empty */
    int64_t *values;  /* capacity slots */
    size_t capacity;  /* power of two */
    size_t count;
} strmap;

/* Returns 0 or -1 when out of memory. */
int strmap_init(strmap *m, size_t expected);
void strmap_free(strmap *m);

/* Returns the value stored for key, or -1 when absent. */
int64_t strmap_get(const strmap *m, const char *key);

/* Inserts key -> value. Returns 0 when inserted, 1 when the key was already
 * present (the old value is kept; *existing receives it when non-NULL),
 * -1 when out of memory. */
int strmap_put(strmap *m, const char *key, int64_t value, int64_t *existing);

#endif
