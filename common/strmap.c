#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"

static uint64_t hash_str(const char *s) { return fnv1a(FNV1A_INIT, s, strlen(s)); }

int strmap_init(strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 1) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->values = calloc(cap, sizeof *m->values);
    m->capacity = cap;
    m->count = 0;
    if (!m->keys || !m->values) {
        strmap_free(m);
        return -1;
    }
    return 0;
}

void strmap_free(strmap *m)
{
    if (m->keys) {
        for (size_t i = 0; i < m->capacity; i++) free(m->keys[i]);
    }
    free(m->keys);
    free(m->values);
    m->keys = NULL;
    m->values = NULL;
    m->capacity = m->count = 0;
}

static size_t find_slot(char *const *keys, size_t cap, const char *key)
{
    size_t i = (size_t)hash_str(key) & (cap - 1);
    while (keys[i] && strcmp(keys[i], key) != 0) i = (i + 1) & (cap - 1);
    return i;
}

int64_t strmap_get(const strmap *m, const char *key)
{
    if (!m->capacity) return -1;
    size_t i = find_slot(m->keys, m->capacity, key);
    return m->keys[i] ? m->values[i] : -1;
}

static int grow(strmap *m)
{
    size_t cap = m->capacity * 2;
    char **keys = calloc(cap, sizeof *keys);
    int64_t *values = calloc(cap, sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return -1;
    }
    for (size_t i = 0; i < m->capacity; i++) {
        if (!m->keys[i]) continue;
        size_t j = find_slot(keys, cap, m->keys[i]);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->capacity = cap;
    return 0;
}

int strmap_put(strmap *m, const char *key, int64_t value, int64_t *existing)
{
    if ((m->count + 1) * 2 > m->capacity && grow(m) != 0) return -1;
    size_t i = find_slot(m->keys, m->capacity, key);
    if (m->keys[i]) {
        if (existing) *existing = m->values[i];
        return 1;
    }
    size_t len = strlen(key) + 1;
    m->keys[i] = malloc(len);
    if (!m->keys[i]) return -1;
    memcpy(m->keys[i], key, len);
    m->values[i] = value;
    m->count++;
    return 0;
}
