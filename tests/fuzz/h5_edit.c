/* Structure-aware edits of an HDF5 file (h5_edit.h). */
#include "h5_edit.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/h5util.h"
#include "fuzz_target.h"

static int verbose = -1;
static uint8_t *base_bytes;
static size_t base_size;
#define MAX_OBJECTS 128
static char objects[MAX_OBJECTS][160]; /* "path" for a dataset, "path@attr" for an attribute */
static int n_objects;

/* Reads the fuzz input one byte at a time; zeros once it runs out. */
typedef struct reader {
    const uint8_t *p;
    size_t n, at;
} reader;
static uint8_t next(reader *r) { return r->at < r->n ? r->p[r->at++] : 0; }
static uint16_t next16(reader *r) { return (uint16_t)(next(r) | next(r) << 8); }

static herr_t list_attr(hid_t loc, const char *name, const H5A_info_t *info, void *path)
{
    (void)loc, (void)info;
    if (n_objects < MAX_OBJECTS)
        snprintf(objects[n_objects++], sizeof objects[0], "%s@%s", (const char *)path, name);
    return 0;
}

static herr_t list_object(hid_t root, const char *name, const H5O_info_t *info, void *op)
{
    (void)op;
    char path[128];
    snprintf(path, sizeof path, "/%s", strcmp(name, ".") == 0 ? "" : name);
    if (info->type == H5O_TYPE_DATASET && n_objects < MAX_OBJECTS)
        snprintf(objects[n_objects++], sizeof objects[0], "%s", path);
    hid_t o = H5Oopen(root, name, H5P_DEFAULT);
    if (o >= 0) {
        H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, list_attr, path);
        H5Oclose(o);
    }
    return 0;
}

static const int64_t INT_VALUES[] = {-1, 0, 1, 2, 3, 7, 16, 255, 256, INT32_MAX, (int64_t)INT32_MAX + 1,
                                     INT64_MAX, INT64_MIN, -((int64_t)1 << 40), (int64_t)1 << 31, 5};
static const double FLOAT_VALUES[] = {NAN, INFINITY, -INFINITY, -1.0, 0.0, 1e39, 1e-300, 3.5, -0.0, 1e300};
static const char *const STRING_VALUES[] = {"", "/", "..", ".", "a/b", "x", "cnn", "c", "cpu", "gnnperf-dataset",
                                            "gnnperf-checkpoint", "\xff\xfe", "latency_ms", "attention", "roofline",
                                            "directed", "none", "ms"};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Element buffer of any class: int64, double or char* (vlen strings). */
typedef struct values {
    H5T_class_t cls;
    hid_t ftype; /* the object's type in the file (kept unless the class changes) */
    int rank;
    hsize_t dims[4];
    size_t n;
    void *buf;
} values;

static hid_t mem_type(H5T_class_t cls)
{
    if (cls == H5T_INTEGER) return H5Tcopy(H5T_NATIVE_INT64);
    if (cls == H5T_FLOAT) return H5Tcopy(H5T_NATIVE_DOUBLE);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static size_t elem_size(H5T_class_t cls) { return cls == H5T_STRING ? sizeof(char *) : 8; }

/* Frees v's elements and puts buf (of v's new class) in their place; the file type stays. */
static void replace_elements(values *v, void *buf)
{
    if (v->cls == H5T_STRING && v->buf)
        for (size_t i = 0; i < v->n; i++) free(((char **)v->buf)[i]);
    free(v->buf);
    v->buf = buf;
}

static void free_values(values *v)
{
    replace_elements(v, NULL);
    if (v->ftype >= 0) H5Tclose(v->ftype);
    v->ftype = -1;
}

/* Reads a dataset or attribute (attr >= 0) into v; strings are strdup'd. */
static int read_values(hid_t obj, int is_attr, values *v)
{
    hid_t ft = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    v->cls = H5Tget_class(ft);
    v->ftype = ft;
    v->rank = H5Sget_simple_extent_ndims(sp);
    if (v->rank < 0 || v->rank > 4 || (v->cls != H5T_INTEGER && v->cls != H5T_FLOAT && v->cls != H5T_STRING)) {
        H5Sclose(sp);
        return -1;
    }
    H5Sget_simple_extent_dims(sp, v->dims, NULL);
    v->n = (size_t)H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    v->buf = calloc(v->n + 1, elem_size(v->cls));
    hid_t mt = mem_type(v->cls);
    herr_t rc = is_attr ? H5Aread(obj, mt, v->buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v->buf);
    if (rc >= 0 && v->cls == H5T_STRING) /* copy into malloc'd strings we own, then let HDF5 free its own */
        for (size_t i = 0; i < v->n; i++) {
            char *s = ((char **)v->buf)[i];
            ((char **)v->buf)[i] = strdup(s ? s : "");
            H5free_memory(s);
        }
    H5Tclose(mt);
    if (rc < 0) {
        free(v->buf);
        v->buf = NULL;
        return -1;
    }
    return 0;
}

/* Copies one attribute to the object *to (H5Aiterate2 callback), in its own type. */
static herr_t copy_attr(hid_t loc, const char *name, const H5A_info_t *info, void *to)
{
    (void)info;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    void *buf = calloc(n > 0 ? (size_t)n : 1, H5Tget_size(t));
    if (buf && H5Aread(a, t, buf) >= 0) {
        hid_t b = H5Acreate2(*(hid_t *)to, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (b >= 0) {
            H5Awrite(b, t, buf);
            H5Aclose(b);
        }
        H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf); /* variable-length strings; a no-op otherwise */
    }
    free(buf);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return 0;
}

/* Writes v into the existing object (same type and shape: a "set" edit). */
static void write_in_place(hid_t file, const char *path, const char *attr, const values *v)
{
    hid_t mt = mem_type(v->cls);
    if (attr) {
        hid_t a = H5Aopen_by_name(file, path, attr, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            H5Awrite(a, mt, v->buf);
            H5Aclose(a);
        }
    } else {
        hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
        if (ds >= 0) {
            if (v->n) H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v->buf);
            H5Dclose(ds);
        }
    }
    H5Tclose(mt);
}

/* Replaces the object by one of v's type (v->ftype, or a 64-bit type of a
 * new class), rank and dimensions holding v. A dataset keeps its attributes
 * (vocabulary, unit, ...): the reader would otherwise refuse it for their
 * absence before looking at the edit. */
static void write_values(hid_t file, const char *path, const char *attr, const values *v, int new_class)
{
    hid_t sp = v->rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(v->rank, v->dims, NULL);
    hid_t ft = !new_class ? H5Tcopy(v->ftype)
               : v->cls == H5T_INTEGER ? H5Tcopy(H5T_STD_I64LE)
               : v->cls == H5T_FLOAT   ? H5Tcopy(H5T_IEEE_F64LE)
                                       : mem_type(H5T_STRING);
    hid_t mt = mem_type(v->cls);
    if (attr) {
        hid_t o = H5Oopen(file, path, H5P_DEFAULT);
        if (o >= 0) {
            if (H5Aexists(o, attr) > 0) H5Adelete(o, attr);
            hid_t a = H5Acreate2(o, attr, ft, sp, H5P_DEFAULT, H5P_DEFAULT);
            if (a >= 0) {
                H5Awrite(a, mt, v->buf);
                H5Aclose(a);
            }
            H5Oclose(o);
        }
    } else {
        char tmp[200];
        snprintf(tmp, sizeof tmp, "%s.fuzznew", path);
        hid_t ds = H5Dcreate2(file, tmp, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ds >= 0) {
            if (v->n) H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v->buf);
            hid_t old = H5Oopen(file, path, H5P_DEFAULT);
            if (old >= 0) {
                H5Aiterate2(old, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr, &ds);
                H5Oclose(old);
            }
            H5Dclose(ds);
            H5Ldelete(file, path, H5P_DEFAULT);
            H5Lmove(file, tmp, file, path, H5P_DEFAULT, H5P_DEFAULT);
        }
    }
    H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(sp);
}

static void set_element(values *v, size_t i, reader *r)
{
    uint8_t pick = next(r);
    if (v->cls == H5T_INTEGER) ((int64_t *)v->buf)[i] = INT_VALUES[pick % COUNT(INT_VALUES)];
    else if (v->cls == H5T_FLOAT) ((double *)v->buf)[i] = FLOAT_VALUES[pick % COUNT(FLOAT_VALUES)];
    else {
        char **s = (char **)v->buf;
        free(s[i]);
        s[i] = strdup(pick % 4 == 0 && v->n > 1 ? s[(i + 1) % v->n] : STRING_VALUES[pick % COUNT(STRING_VALUES)]);
    }
}

static void apply_edit(hid_t file, reader *r)
{
    const char *obj = objects[next(r) % n_objects];
    int op = next(r) % 5;
    if (verbose)
        fprintf(stderr, "edit: %s %s\n", (const char *[]){"set", "delete", "resize", "retype", "reshape"}[op], obj);
    char path[160];
    snprintf(path, sizeof path, "%s", obj);
    char *at = strchr(path, '@');
    const char *attr = NULL;
    if (at) {
        *at = '\0';
        attr = at + 1;
    }
    if (op == 1) { /* delete */
        if (!attr) H5Ldelete(file, path, H5P_DEFAULT);
        else H5Adelete_by_name(file, path, attr, H5P_DEFAULT);
        return;
    }
    hid_t o = attr ? H5Aopen_by_name(file, path, attr, H5P_DEFAULT, H5P_DEFAULT) : H5Dopen2(file, path, H5P_DEFAULT);
    if (o < 0) return; /* deleted by an earlier edit */
    values v;
    memset(&v, 0, sizeof v);
    v.ftype = -1;
    int rc = read_values(o, attr != NULL, &v);
    if (attr) H5Aclose(o);
    else H5Dclose(o);
    if (rc != 0) return;
    if (op == 0 && v.n > 0) {
        set_element(&v, next16(r) % v.n, r);
    } else if (op == 2 && v.rank > 0) { /* first dimension -1, +1, +3 or 0 */
        static const int DELTA[] = {-1, 1, 3, -1000000};
        int d = DELTA[next(r) % 4];
        size_t row = 1;
        for (int k = 1; k < v.rank; k++) row *= (size_t)v.dims[k];
        hsize_t len = d < 0 && (hsize_t)-d > v.dims[0] ? 0 : v.dims[0] + (hsize_t)(int64_t)d;
        size_t n = (size_t)len * row;
        void *grown = calloc(n + 1, elem_size(v.cls));
        memcpy(grown, v.buf, (n < v.n ? n : v.n) * elem_size(v.cls));
        if (v.cls == H5T_STRING) {
            char **s = (char **)grown;
            for (size_t i = 0; i < n; i++) s[i] = strdup(i < v.n && s[i] ? s[i] : "new");
        }
        replace_elements(&v, grown);
        v.n = n;
        v.dims[0] = len;
    } else if (op == 3) { /* another class, same values where they convert */
        H5T_class_t to = v.cls == H5T_INTEGER ? H5T_FLOAT : H5T_INTEGER;
        void *b = calloc(v.n + 1, 8);
        for (size_t i = 0; i < v.n; i++) {
            if (v.cls == H5T_INTEGER) ((double *)b)[i] = (double)((int64_t *)v.buf)[i] + 0.5;
            else if (v.cls == H5T_FLOAT) {
                double x = ((double *)v.buf)[i];
                ((int64_t *)b)[i] = isfinite(x) && fabs(x) < 1e15 ? (int64_t)x : -1;
            } else ((int64_t *)b)[i] = (int64_t)i;
        }
        replace_elements(&v, b);
        v.cls = to;
    } else if (op == 4) { /* flatten, or a trailing dimension of 1 */
        if (v.rank > 1 || v.rank == 0) {
            v.dims[0] = v.n;
            v.rank = 1;
        } else if (v.rank < 4) {
            v.dims[v.rank++] = 1;
        }
    }
    if (op == 0) write_in_place(file, path, attr, &v);
    else write_values(file, path, attr, &v, op == 3);
    free_values(&v);
}


int h5_edit_verbose(void)
{
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    return verbose;
}

void h5_edit_load_base(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0)
        fuzz_fail("cannot open the base file %s", path);
    base_size = (size_t)ftell(f);
    rewind(f);
    base_bytes = malloc(base_size ? base_size : 1);
    if (!base_bytes || fread(base_bytes, 1, base_size, f) != base_size)
        fuzz_fail("cannot read the base file %s", path);
    fclose(f);
    h5_quiet();
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0)
        fuzz_fail("the base file %s does not open", path);
    H5Ovisit(fid, H5_INDEX_NAME, H5_ITER_INC, list_object, NULL);
    H5Fclose(fid);
    if (n_objects < 10)
        fuzz_fail("only %d objects found in the base file %s", n_objects, path);
}

const char *h5_edit_make(const uint8_t *data, size_t size, const char *suffix)
{
    if (!base_bytes)
        fuzz_fail("h5_edit_make before h5_edit_load_base");
    h5_edit_verbose();
    reader r = {data, size, 0};
    const char *path = fuzz_scratch_file(suffix, base_bytes, base_size);
    if (!path)
        return NULL;
    hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (fid < 0)
        fuzz_fail("the copy of the base file does not open");
    int n_edits = 1 + next(&r) % 4;
    for (int k = 0; k < n_edits; k++)
        apply_edit(fid, &r);
    H5Fclose(fid);
    return path;
}
