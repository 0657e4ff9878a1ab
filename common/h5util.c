#include "h5util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* The innermost HDF5 message ("truncated file: eof = ...", "inflate()
 * failed") helps whoever has to look at a broken file. */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf((char *)data, 200, "%s", e->desc);
    return 0;
}

/* Fills buf (at least 256 bytes) with the innermost message of the current
 * HDF5 error stack and clears it; returns 0 when the stack was empty. */
static int hdf5_reason(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    if (buf[0]) return 1;
    snprintf(buf, 200, "no detail from HDF5");
    return 0;
}

/* Integer conversions that overflow abort the read instead of clamping;
 * float overflow becomes +-inf, which the label checks then report. */
static H5T_conv_ret_t conv_cb(H5T_conv_except_t except, hid_t src, hid_t dst, void *sbuf, void *dbuf, void *user)
{
    (void)src, (void)sbuf, (void)dbuf;
    if ((except == H5T_CONV_EXCEPT_RANGE_HI || except == H5T_CONV_EXCEPT_RANGE_LOW) &&
        H5Tget_class(dst) == H5T_INTEGER) {
        *(int *)user = 1;
        return H5T_CONV_ABORT;
    }
    return H5T_CONV_UNHANDLED;
}

/* Variable-length strings read through the transfer list land in memory
 * from malloc, so the reader owns them without a copy. */
static void *vl_alloc(size_t n, void *info)
{
    (void)info;
    return malloc(n ? n : 1);
}

static void vl_free(void *p, void *info)
{
    (void)info;
    free(p);
}

int h5r_fail(h5r *r, const char *obj, const char *fmt, ...)
{
    if (!r->err) return -1;
    char msg[GP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (obj)
        return gp_errorf(r->err, "%s: %s: %s", r->file, obj, msg);
    return gp_errorf(r->err, "%s: %s", r->file, msg);
}

int h5r_open(h5r *r, const char *path, gp_error *err)
{
    memset(r, 0, sizeof *r);
    r->file = path;
    r->fid = -1;
    r->xfer = -1;
    r->err = err;
    h5_quiet();
    FILE *f = fopen(path, "rb");
    if (!f) return gp_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return gp_errorf(err, "%s: not a regular file", path);
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return gp_errorf(err, "%s: not an HDF5 file or truncated", path);
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* STRONG: closing the file closes anything an error path left open. */
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        return gp_errorf(err, "%s: cannot set up HDF5", path);
    }
    r->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    char why[256];
    if (r->fid < 0) hdf5_reason(why);
    H5Pclose(fapl);
    if (r->fid < 0) return gp_errorf(err, "%s: not an HDF5 file or truncated (%s)", path, why);
    hsize_t size = 0;
    if (H5Fget_filesize(r->fid, &size) < 0) size = (hsize_t)st.st_size;
    r->file_size = (uint64_t)size;
    r->xfer = H5Pcreate(H5P_DATASET_XFER);
    if (r->xfer < 0 || H5Pset_type_conv_cb(r->xfer, conv_cb, &r->overflow) < 0 ||
        H5Pset_vlen_mem_manager(r->xfer, vl_alloc, NULL, vl_free, NULL) < 0) {
        h5r_close(r);
        return gp_errorf(err, "%s: cannot set up HDF5", path);
    }
    return 0;
}

void h5r_close(h5r *r)
{
    if (r->xfer >= 0) H5Pclose(r->xfer);
    if (r->fid >= 0) H5Fclose(r->fid);
    r->xfer = r->fid = -1;
}

void h5_free_strings(char **s, int64_t n)
{
    if (!s) return;
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---------------------------------------------------------------- objects */

int h5r_open_object(h5r *r, const char *path, H5I_type_t want, int required, hid_t *id)
{
    *id = -1;
    if (path[0] != '/') return h5r_fail(r, path, "not an absolute path");
    hid_t loc = r->fid;
    int own = 0;
    const char *p = path + 1;
    char prefix[1024];
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        size_t plen = (size_t)(p + len - path);
        if (len == 0 || plen >= sizeof prefix) {
            if (own) H5Oclose(loc);
            return h5r_fail(r, path, "malformed or too long path");
        }
        memcpy(prefix, path, plen);
        prefix[plen] = '\0';
        const char *comp = prefix + (p - path);
        int last = slash == NULL;
        htri_t ex = H5Lexists(loc, comp, H5P_DEFAULT);
        H5L_info_t li;
        if (ex > 0 && H5Lget_info(loc, comp, &li, H5P_DEFAULT) < 0) ex = -1;
        if (ex <= 0) {
            if (own) H5Oclose(loc);
            if (ex < 0) return h5r_fail(r, prefix, "cannot be looked up (corrupt file?)");
            if (!required) return 0;
            return h5r_fail(r, prefix, "missing");
        }
        if (li.type != H5L_TYPE_HARD) {
            if (own) H5Oclose(loc);
            return h5r_fail(r, prefix, "is %s link; gnnperf follows only hard links",
                            li.type == H5L_TYPE_SOFT ? "a soft" : li.type == H5L_TYPE_EXTERNAL ? "an external" : "a user-defined");
        }
        hid_t o = H5Oopen(loc, comp, H5P_DEFAULT);
        if (own) H5Oclose(loc);
        if (o < 0) {
            char why[256];
            hdf5_reason(why);
            return h5r_fail(r, prefix, "cannot be opened (%s)", why);
        }
        loc = o;
        own = 1;
        H5I_type_t t = H5Iget_type(o);
        H5I_type_t need = last ? want : H5I_GROUP;
        if (t != need) {
            H5Oclose(o);
            return h5r_fail(r, prefix, "is a %s, expected a %s",
                            t == H5I_GROUP ? "group" : t == H5I_DATASET ? "dataset" : "named datatype",
                            need == H5I_GROUP ? "group" : "dataset");
        }
        p = slash ? slash + 1 : p + len;
    }
    *id = loc;
    return 1;
}

int64_t h5r_length(h5r *r, const char *path)
{
    gp_error scratch;
    gp_error *keep = r->err;
    r->err = &scratch; /* probing only: the caller reports problems */
    hid_t ds;
    int64_t n = -1;
    if (h5r_open_object(r, path, H5I_DATASET, 0, &ds) == 1) {
        hid_t sp = H5Dget_space(ds);
        hsize_t dims[H5S_MAX_RANK];
        if (sp >= 0 && H5Sget_simple_extent_type(sp) == H5S_SIMPLE) {
            int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
            if (rank >= 1 && dims[0] <= (hsize_t)INT64_MAX) n = (int64_t)dims[0];
        }
        if (sp >= 0) H5Sclose(sp);
        H5Dclose(ds);
    }
    H5Eclear2(H5E_DEFAULT);
    r->err = keep;
    return n;
}

/* ---------------------------------------------------------------- checks */

static const char *class_word(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    case H5T_TIME: return "time";
    default: return "unknown";
    }
}

static const char *want_word(h5_class c) { return c == H5C_INT ? "integer" : c == H5C_FLOAT ? "float" : "string"; }

static H5T_class_t want_class(h5_class c) { return c == H5C_INT ? H5T_INTEGER : c == H5C_FLOAT ? H5T_FLOAT : H5T_STRING; }

static void dim_word(char *buf, size_t size, int64_t d)
{
    if (d == H5R_ANY) snprintf(buf, size, "any");
    else snprintf(buf, size, "%lld", (long long)d);
}

/* Class, rank and dimensions. On success *nelem is the element count. */
static int check_shape(h5r *r, hid_t ds, const char *path, h5_class cls, int rank, int64_t d0, int64_t d1,
                       int64_t *n0, int64_t *n1, uint64_t *nelem)
{
    hid_t type = H5Dget_type(ds);
    hid_t sp = H5Dget_space(ds);
    if (type < 0 || sp < 0) {
        if (type >= 0) H5Tclose(type);
        if (sp >= 0) H5Sclose(sp);
        return h5r_fail(r, path, "cannot read its type or dataspace (corrupt file?)");
    }
    H5T_class_t tc = H5Tget_class(type);
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    hsize_t dims[H5S_MAX_RANK] = {0};
    int frank = sc == H5S_SIMPLE ? H5Sget_simple_extent_dims(sp, dims, NULL) : 0;
    H5Tclose(type);
    H5Sclose(sp);
    if (frank < 0) return h5r_fail(r, path, "cannot read its dataspace (corrupt file?)");

    int ok = tc == want_class(cls) && sc == H5S_SIMPLE && frank == rank;
    int64_t want[2] = {d0, d1};
    for (int k = 0; ok && k < rank; k++)
        if (dims[k] > ((uint64_t)1 << 62) || (want[k] != H5R_ANY && dims[k] != (hsize_t)want[k])) ok = 0;
    if (!ok) {
        char expect[128], found[256], a[32], b[32];
        dim_word(a, sizeof a, d0);
        dim_word(b, sizeof b, d1);
        if (rank == 1 && d0 == H5R_ANY) snprintf(expect, sizeof expect, "a 1-D %s dataset", want_word(cls));
        else if (rank == 1) snprintf(expect, sizeof expect, "a 1-D %s dataset of %s elements", want_word(cls), a);
        else snprintf(expect, sizeof expect, "a 2-D %s dataset of %s x %s elements", want_word(cls), a, b);
        char cw[48] = "";
        if (tc != want_class(cls)) snprintf(cw, sizeof cw, " %s data", class_word(tc));
        if (sc == H5S_NULL) snprintf(found, sizeof found, "an empty (null) dataspace of%s", cw);
        else if (sc == H5S_SCALAR) snprintf(found, sizeof found, "a scalar%s", cw);
        else {
            int used = snprintf(found, sizeof found, "%d-D%s (", frank, cw);
            for (int k = 0; k < frank && used < (int)sizeof found - 40; k++)
                used += snprintf(found + used, sizeof found - (size_t)used, "%s%llu", k ? " x " : "",
                                 (unsigned long long)dims[k]);
            snprintf(found + used, sizeof found - (size_t)used, ")");
        }
        return h5r_fail(r, path, "expected %s, found %s", expect, found);
    }
    uint64_t n = 1;
    for (int k = 0; k < rank; k++) {
        if (dims[k] != 0 && n > UINT64_MAX / dims[k]) return h5r_fail(r, path, "dimensions overflow");
        n *= dims[k];
    }
    if (n0) *n0 = (int64_t)dims[0];
    if (n1) *n1 = rank > 1 ? (int64_t)dims[1] : 1;
    *nelem = n;
    return 0;
}

/* Layout, filters and chunk size: only what our writer and h5py produce. */
static int check_storage(h5r *r, hid_t ds, const char *path)
{
    hid_t dcpl = H5Dget_create_plist(ds);
    if (dcpl < 0) return h5r_fail(r, path, "cannot read its creation properties (corrupt file?)");
    int rc = 0;
    H5D_layout_t lay = H5Pget_layout(dcpl);
    if (lay != H5D_COMPACT && lay != H5D_CONTIGUOUS && lay != H5D_CHUNKED) {
        rc = h5r_fail(r, path, "uses a virtual or unknown storage layout, which gnnperf does not read");
        goto done;
    }
    if (H5Pget_external_count(dcpl) != 0) {
        rc = h5r_fail(r, path, "keeps its data in external raw files, which gnnperf does not read");
        goto done;
    }
    int nf = H5Pget_nfilters(dcpl);
    if (nf < 0) {
        rc = h5r_fail(r, path, "cannot read its filter list (corrupt file?)");
        goto done;
    }
    for (int i = 0; i < nf; i++) {
        unsigned flags = 0, cd[8], cfg = 0;
        size_t ncd = 8;
        char name[64] = "";
        H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, &cfg);
        if (f != H5Z_FILTER_DEFLATE && f != H5Z_FILTER_SHUFFLE && f != H5Z_FILTER_FLETCHER32) {
            for (char *c = name; *c; c++)
                if (*c < 0x20 || *c == 0x7f) *c = '?';
            rc = h5r_fail(r, path, "is encoded with filter %d ('%s'); gnnperf reads only gzip, shuffle and fletcher32",
                          (int)f, name);
            goto done;
        }
    }
    if (lay == H5D_CHUNKED) {
        hsize_t cdims[H5S_MAX_RANK];
        int cr = H5Pget_chunk(dcpl, H5S_MAX_RANK, cdims);
        hid_t type = H5Dget_type(ds);
        uint64_t bytes = type >= 0 ? (uint64_t)H5Tget_size(type) : 0;
        if (type >= 0) H5Tclose(type);
        if (cr < 1 || bytes == 0) {
            rc = h5r_fail(r, path, "cannot read its chunk layout (corrupt file?)");
            goto done;
        }
        for (int k = 0; k < cr; k++) {
            if (cdims[k] == 0 || bytes > H5R_MAX_CHUNK_BYTES / cdims[k]) {
                rc = h5r_fail(r, path, "has chunks larger than %llu bytes, which gnnperf refuses",
                              (unsigned long long)H5R_MAX_CHUNK_BYTES);
                goto done;
            }
            bytes *= cdims[k];
        }
    }
done:
    H5Pclose(dcpl);
    return rc;
}

/* The memory a read needs must be plausible for what the file stores. */
static int check_plausible(h5r *r, hid_t ds, const char *path, uint64_t nelem, uint64_t elem_size)
{
    uint64_t stored = (uint64_t)H5Dget_storage_size(ds);
    if (stored > r->file_size) stored = r->file_size;
    uint64_t allowed = stored > UINT64_MAX / (2 * H5R_MAX_EXPANSION) ? UINT64_MAX / 2
                                                                     : stored * H5R_MAX_EXPANSION + H5R_SLACK_BYTES;
    /* 1 TiB: beyond any dataset, and below what malloc can be asked for. */
    const uint64_t hard = (uint64_t)1 << 40;
    if (elem_size && nelem > UINT64_MAX / elem_size)
        return h5r_fail(r, path, "claims %llu elements; refusing to allocate", (unsigned long long)nelem);
    uint64_t need = nelem * elem_size;
    if (need > allowed || need > hard)
        return h5r_fail(r, path,
                        "claims %llu elements (%llu bytes in memory) but the file stores only %llu bytes for it; "
                        "refusing to allocate",
                        (unsigned long long)nelem, (unsigned long long)need, (unsigned long long)stored);
    return 0;
}

int h5r_check(h5r *r, hid_t ds, const char *path, h5_class cls, int rank, int64_t d0, int64_t d1, int64_t *n0,
              int64_t *n1)
{
    uint64_t nelem = 0;
    if (check_shape(r, ds, path, cls, rank, d0, d1, n0, n1, &nelem) != 0) return -1;
    return check_storage(r, ds, path);
}

void *h5r_load(h5r *r, const char *path, h5_class cls, hid_t mem_type, size_t elem_size, int rank, int64_t d0,
               int64_t d1, int64_t *n0, int64_t *n1, int required, int *absent)
{
    if (absent) *absent = 0;
    hid_t ds;
    int o = h5r_open_object(r, path, H5I_DATASET, required, &ds);
    if (o <= 0) {
        if (o == 0 && absent) *absent = 1;
        return NULL;
    }
    uint64_t nelem = 0;
    void *buf = NULL;
    if (check_shape(r, ds, path, cls, rank, d0, d1, n0, n1, &nelem) != 0 || check_storage(r, ds, path) != 0 ||
        check_plausible(r, ds, path, nelem, elem_size) != 0)
        goto done;
    buf = malloc(nelem ? (size_t)(nelem * elem_size) : 1);
    if (!buf) {
        h5r_fail(r, path, "out of memory for %llu elements", (unsigned long long)nelem);
        goto done;
    }
    if (nelem > 0) {
        r->overflow = 0;
        if (H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, r->xfer, buf) < 0) {
            char why[256];
            hdf5_reason(why);
            if (r->overflow)
                h5r_fail(r, path, "a stored value does not fit in a %d-bit integer", (int)(elem_size * 8));
            else h5r_fail(r, path, "cannot be read (%s)", why);
            free(buf);
            buf = NULL;
        }
    }
done:
    H5Dclose(ds);
    return buf;
}

char **h5r_load_strings(h5r *r, const char *path, int64_t n, int64_t *n_out)
{
    hid_t ds;
    if (h5r_open_object(r, path, H5I_DATASET, 1, &ds) <= 0) return NULL;
    char **out = NULL;
    char *fixed = NULL;
    hid_t ftype = -1, mtype = -1;
    uint64_t nelem = 0;
    int64_t len = 0;
    if (check_shape(r, ds, path, H5C_STRING, 1, n, H5R_ANY, &len, NULL, &nelem) != 0 || check_storage(r, ds, path) != 0)
        goto fail;
    ftype = H5Dget_type(ds);
    htri_t vlen = ftype >= 0 ? H5Tis_variable_str(ftype) : -1;
    size_t fsize = ftype >= 0 ? H5Tget_size(ftype) : 0;
    H5T_cset_t cset = ftype >= 0 ? H5Tget_cset(ftype) : H5T_CSET_ERROR;
    if (vlen < 0 || fsize == 0 || cset == H5T_CSET_ERROR) {
        h5r_fail(r, path, "cannot read its string type (corrupt file?)");
        goto fail;
    }
    if (!vlen && fsize > H5R_MAX_FIXED_STRING) {
        h5r_fail(r, path, "fixed-length strings of %zu bytes are longer than gnnperf accepts", fsize);
        goto fail;
    }
    size_t mem_elem = vlen ? sizeof(char *) : fsize + 1;
    if (check_plausible(r, ds, path, nelem, mem_elem) != 0) goto fail;
    out = calloc(nelem ? (size_t)nelem : 1, sizeof(char *));
    mtype = H5Tcopy(H5T_C_S1);
    if (!out || mtype < 0 || H5Tset_size(mtype, vlen ? H5T_VARIABLE : fsize + 1) < 0 || H5Tset_cset(mtype, cset) < 0 ||
        (!vlen && H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0)) {
        h5r_fail(r, path, "out of memory");
        goto fail;
    }
    if (nelem > 0) {
        if (!vlen && !(fixed = malloc((size_t)nelem * mem_elem))) {
            h5r_fail(r, path, "out of memory");
            goto fail;
        }
        if (H5Dread(ds, mtype, H5S_ALL, H5S_ALL, r->xfer, vlen ? (void *)out : (void *)fixed) < 0) {
            char why[256];
            hdf5_reason(why);
            h5r_fail(r, path, "cannot be read (%s)", why);
            goto fail;
        }
    }
    for (uint64_t i = 0; i < nelem; i++) {
        if (!vlen) {
            char *s = fixed + i * mem_elem;
            s[fsize] = '\0';
            out[i] = dup_str(s);
        } else if (!out[i]) {
            out[i] = dup_str("");
        }
        if (!out[i]) {
            h5r_fail(r, path, "out of memory");
            goto fail;
        }
    }
    free(fixed);
    H5Tclose(mtype);
    H5Tclose(ftype);
    H5Dclose(ds);
    *n_out = len;
    return out;
fail:
    h5_free_strings(out, (int64_t)nelem);
    free(fixed);
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    H5Dclose(ds);
    return NULL;
}

/* ---------------------------------------------------------------- attributes */

/* Opens attribute name and returns its type class and element count
 * (1 for a scalar). Returns 1, 0 when absent and not required, -1. */
static int attr_open(h5r *r, hid_t obj, const char *objpath, const char *name, int required, hid_t *a,
                     H5T_class_t *tc, uint64_t *nelem, int *rank)
{
    *a = -1;
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) return h5r_fail(r, objpath, "cannot look up attribute '%s' (corrupt file?)", name);
    if (ex == 0) {
        if (!required) return 0;
        return h5r_fail(r, objpath, "has no '%s' attribute", name);
    }
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0) return h5r_fail(r, objpath, "cannot open attribute '%s' (corrupt file?)", name);
    hid_t t = H5Aget_type(*a), sp = H5Aget_space(*a);
    int ok = t >= 0 && sp >= 0;
    *tc = ok ? H5Tget_class(t) : H5T_NO_CLASS;
    H5S_class_t sc = ok ? H5Sget_simple_extent_type(sp) : H5S_NO_CLASS;
    *nelem = 0;
    *rank = -1;
    if (sc == H5S_SCALAR) {
        *nelem = 1;
        *rank = 0;
    } else if (sc == H5S_SIMPLE && H5Sget_simple_extent_ndims(sp) == 1) {
        hsize_t d;
        H5Sget_simple_extent_dims(sp, &d, NULL);
        *nelem = d;
        *rank = 1;
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (!ok) {
        H5Aclose(*a);
        *a = -1;
        return h5r_fail(r, objpath, "cannot read attribute '%s' (corrupt file?)", name);
    }
    return 1;
}

/* Reads nelem strings of a string attribute into malloc'd copies. */
static int attr_read_strings(h5r *r, hid_t a, const char *objpath, const char *name, uint64_t nelem, char **out)
{
    hid_t ft = H5Aget_type(a);
    htri_t vlen = ft >= 0 ? H5Tis_variable_str(ft) : -1;
    size_t fsize = ft >= 0 ? H5Tget_size(ft) : 0;
    H5T_cset_t cset = ft >= 0 ? H5Tget_cset(ft) : H5T_CSET_ERROR;
    if (ft >= 0) H5Tclose(ft);
    if (vlen < 0 || fsize == 0 || cset == H5T_CSET_ERROR)
        return h5r_fail(r, objpath, "attribute '%s': cannot read its string type", name);
    if (!vlen && fsize > H5R_MAX_FIXED_STRING)
        return h5r_fail(r, objpath, "attribute '%s': fixed-length strings of %zu bytes are too long", name, fsize);
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (mt < 0 || H5Tset_size(mt, vlen ? H5T_VARIABLE : fsize + 1) < 0 || H5Tset_cset(mt, cset) < 0 ||
        (!vlen && H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0)) {
        if (mt >= 0) H5Tclose(mt);
        return h5r_fail(r, objpath, "attribute '%s': cannot set up a string type", name);
    }
    size_t elem = vlen ? sizeof(char *) : fsize + 1;
    void *tmp = calloc(nelem ? (size_t)nelem : 1, elem);
    int rc = 0;
    if (!tmp) rc = h5r_fail(r, objpath, "attribute '%s': out of memory", name);
    else if (nelem > 0 && H5Aread(a, mt, tmp) < 0) {
        char why[256];
        hdf5_reason(why);
        rc = h5r_fail(r, objpath, "attribute '%s' cannot be read (%s)", name, why);
        /* Nothing was handed out: a failed read frees what it allocated. */
        memset(tmp, 0, (size_t)nelem * elem);
    }
    for (uint64_t i = 0; i < nelem && tmp; i++) {
        const char *s;
        if (vlen) s = ((char **)tmp)[i];
        else {
            char *f = (char *)tmp + i * elem;
            f[fsize] = '\0';
            s = f;
        }
        if (rc == 0) {
            out[i] = dup_str(s ? s : "");
            if (!out[i]) rc = h5r_fail(r, objpath, "attribute '%s': out of memory", name);
        }
        if (vlen && s) H5free_memory((void *)s);
    }
    free(tmp);
    H5Tclose(mt);
    return rc;
}

int h5r_attr_string(h5r *r, hid_t obj, const char *objpath, const char *name, int required, char **out)
{
    *out = NULL;
    hid_t a;
    H5T_class_t tc = H5T_NO_CLASS;
    uint64_t nelem = 0;
    int rank = -1;
    int o = attr_open(r, obj, objpath, name, required, &a, &tc, &nelem, &rank);
    if (o <= 0) return o;
    int rc;
    if (tc != H5T_STRING || nelem != 1)
        rc = h5r_fail(r, objpath, "attribute '%s' should be one string, found %llu %s value(s)", name,
                      (unsigned long long)nelem, class_word(tc));
    else rc = attr_read_strings(r, a, objpath, name, 1, out);
    H5Aclose(a);
    return rc == 0 ? 1 : -1;
}

int h5r_attr_int(h5r *r, hid_t obj, const char *objpath, const char *name, int required, int64_t *out)
{
    hid_t a;
    H5T_class_t tc = H5T_NO_CLASS;
    uint64_t nelem = 0;
    int rank = -1;
    int o = attr_open(r, obj, objpath, name, required, &a, &tc, &nelem, &rank);
    if (o <= 0) return o;
    int rc = 0;
    if (tc != H5T_INTEGER || nelem != 1)
        rc = h5r_fail(r, objpath, "attribute '%s' should be one integer, found %llu %s value(s)", name,
                      (unsigned long long)nelem, class_word(tc));
    else if (H5Aread(a, H5T_NATIVE_INT64, out) < 0)
        rc = h5r_fail(r, objpath, "attribute '%s' cannot be read as a 64-bit integer", name);
    H5Aclose(a);
    return rc == 0 ? 1 : -1;
}

int h5r_attr_strings(h5r *r, hid_t obj, const char *objpath, const char *name, int required, int64_t max,
                     char ***out, int64_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    hid_t a;
    H5T_class_t tc = H5T_NO_CLASS;
    uint64_t nelem = 0;
    int rank = -1;
    int o = attr_open(r, obj, objpath, name, required, &a, &tc, &nelem, &rank);
    if (o <= 0) return o;
    int rc = 0;
    char **s = NULL;
    if (tc != H5T_STRING || rank != 1)
        rc = h5r_fail(r, objpath, "attribute '%s' should be a 1-D list of strings, found %s %s data", name,
                      rank == 0 ? "scalar" : rank < 0 ? "empty or multi-dimensional" : "1-D", class_word(tc));
    else if (nelem > (uint64_t)max)
        rc = h5r_fail(r, objpath, "attribute '%s' has %llu entries, more than the %lld accepted", name,
                      (unsigned long long)nelem, (long long)max);
    else if (!(s = calloc(nelem ? (size_t)nelem : 1, sizeof(char *))))
        rc = h5r_fail(r, objpath, "out of memory");
    else rc = attr_read_strings(r, a, objpath, name, nelem, s);
    H5Aclose(a);
    if (rc != 0) {
        h5_free_strings(s, (int64_t)nelem);
        return -1;
    }
    *out = s;
    *n_out = (int64_t)nelem;
    return 1;
}

/* ---------------------------------------------------------------- writing */

int h5w_fail(h5w *w, const char *obj, const char *fmt, ...)
{
    if (!w->err) return -1;
    char msg[GP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char why[256], detail[300] = "";
    if (hdf5_reason(why)) snprintf(detail, sizeof detail, " (%s)", why);
    if (obj) return gp_errorf(w->err, "%s: %s: %s%s", w->file, obj, msg, detail);
    return gp_errorf(w->err, "%s: %s%s", w->file, msg, detail);
}

int h5w_create(h5w *w, atomic_file *af, const char *path, gp_error *err)
{
    w->file = path;
    w->fid = -1;
    w->err = err;
    if (atomic_file_begin(af, path, err) != 0) return -1;
    if (af->direct) {
        af->tmp_path[0] = '\0'; /* nothing was created: leave the device alone */
        return gp_errorf(err, "%s: not a regular file; an HDF5 output must be a file", path);
    }
    w->fid = H5Fcreate(af->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->fid < 0) {
        gp_errorf(err, "%s: cannot create the temporary file %s", path, af->tmp_path);
        atomic_file_abort(af);
        return -1;
    }
    return 0;
}

hid_t h5w_group(h5w *w, const char *path, int track_order)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0) return h5w_fail(w, path, "cannot create group properties");
    /* No timestamps: the same dataset always gives the same bytes. */
    H5Pset_obj_track_times(gcpl, 0);
    if (track_order) H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t g = H5Gcreate2(w->fid, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g < 0) return h5w_fail(w, path, "cannot create group");
    return g;
}

/* Chunks of about 256 KiB: large enough that gzip works well and the chunk
 * index stays small at 10^7 rows, small enough for HDF5's 1 MiB chunk
 * cache. Arrays under 64 KiB gain little from compression. */
#define CHUNK_BYTES ((int64_t)256 << 10)
#define CONTIGUOUS_MAX_BYTES ((int64_t)64 << 10)

hid_t h5w_array(h5w *w, const char *path, hid_t file_type, hid_t mem_type, int rank, int64_t d0, int64_t d1,
                const void *buf)
{
    hsize_t dims[2] = {(hsize_t)d0, (hsize_t)(rank > 1 ? d1 : 1)};
    /* sized as stored: an int8 column written from int32 memory is a
     * quarter of the buffer's bytes */
    int64_t row_bytes = (int64_t)H5Tget_size(file_type) * (rank > 1 ? d1 : 1);
    int64_t bytes = row_bytes * d0;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (sp < 0 || dcpl < 0) {
        if (sp >= 0) H5Sclose(sp);
        if (dcpl >= 0) H5Pclose(dcpl);
        return h5w_fail(w, path, "cannot create dataspace");
    }
    H5Pset_obj_track_times(dcpl, 0);
    if (bytes >= CONTIGUOUS_MAX_BYTES && row_bytes > 0) {
        int64_t rows = CHUNK_BYTES / row_bytes;
        if (rows < 1) rows = 1;
        if (rows > d0) rows = d0;
        hsize_t cdims[2] = {(hsize_t)rows, dims[1]};
        if (H5Pset_chunk(dcpl, rank, cdims) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 4) < 0) {
            H5Sclose(sp);
            H5Pclose(dcpl);
            return h5w_fail(w, path, "cannot set up chunking and compression");
        }
    }
    hid_t ds = H5Dcreate2(w->fid, path, file_type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(sp);
    H5Pclose(dcpl);
    if (ds < 0) return h5w_fail(w, path, "cannot create dataset");
    if (bytes > 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        H5Dclose(ds);
        return h5w_fail(w, path, "cannot write");
    }
    return ds;
}

static hid_t utf8_vlen(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Many strings (node names) are written fixed-length, NUL-padded and
 * gzip-compressed: variable-length strings live in HDF5's global heap,
 * which filters never touch, and cost 16 bytes of heap overhead each, so a
 * dataset of 200k node names took 8 MB that compress to well under 1 MB.
 * Readers accept both forms (docs/dataset-format.md). */
#define H5W_FIXED_STRINGS_MIN_BYTES (64 * 1024)

static hid_t write_fixed_strings(h5w *w, const char *path, char *const *s, int64_t n, size_t width)
{
    char *buf = calloc((size_t)n, width);
    hid_t t = H5Tcopy(H5T_C_S1);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = -1;
    if (!buf || t < 0 || sp < 0 || dcpl < 0 || H5Tset_size(t, width) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        h5w_fail(w, path, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        if (s[i]) memcpy(buf + (size_t)i * width, s[i], strlen(s[i]));
    /* About 256 KiB per chunk, as the numeric arrays. */
    hsize_t rows = (hsize_t)(262144 / width);
    if (rows < 1) rows = 1;
    if (rows > (hsize_t)n) rows = (hsize_t)n;
    H5Pset_obj_track_times(dcpl, 0);
    if (H5Pset_chunk(dcpl, 1, &rows) < 0 || H5Pset_deflate(dcpl, 4) < 0) {
        h5w_fail(w, path, "cannot set up compression");
        goto done;
    }
    ds = H5Dcreate2(w->fid, path, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0) h5w_fail(w, path, "cannot create dataset");
    else if (H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        h5w_fail(w, path, "cannot write");
        H5Dclose(ds);
        ds = -1;
    }
done:
    free(buf);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (dcpl >= 0) H5Pclose(dcpl);
    return ds;
}

hid_t h5w_strings(h5w *w, const char *path, char *const *s, int64_t n)
{
    size_t total = 0, width = 1;
    for (int64_t i = 0; i < n; i++) {
        size_t len = s[i] ? strlen(s[i]) : 0;
        total += len;
        if (len > width) width = len;
    }
    if (total >= H5W_FIXED_STRINGS_MIN_BYTES) return write_fixed_strings(w, path, s, n, width);

    const char **tmp = malloc((size_t)(n ? n : 1) * sizeof(char *));
    hid_t t = utf8_vlen();
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = -1;
    if (!tmp || t < 0 || sp < 0 || dcpl < 0) {
        h5w_fail(w, path, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) tmp[i] = s[i] ? s[i] : "";
    H5Pset_obj_track_times(dcpl, 0);
    ds = H5Dcreate2(w->fid, path, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0) h5w_fail(w, path, "cannot create dataset");
    else if (n > 0 && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0) {
        h5w_fail(w, path, "cannot write");
        H5Dclose(ds);
        ds = -1;
    }
done:
    free(tmp);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (dcpl >= 0) H5Pclose(dcpl);
    return ds;
}

static int write_attr(h5w *w, hid_t obj, const char *objpath, const char *name, hid_t ftype, hid_t mtype, hid_t sp,
                      const void *buf)
{
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return h5w_fail(w, objpath, "cannot create attribute '%s'", name);
    herr_t e = H5Awrite(a, mtype, buf);
    herr_t c = H5Aclose(a);
    if (e < 0 || c < 0) return h5w_fail(w, objpath, "cannot write attribute '%s'", name);
    return 0;
}

int h5w_attr_string(h5w *w, hid_t obj, const char *objpath, const char *name, const char *value)
{
    hid_t t = utf8_vlen(), sp = H5Screate(H5S_SCALAR);
    const char *v = value ? value : "";
    int rc = t < 0 || sp < 0 ? h5w_fail(w, objpath, "out of memory") : write_attr(w, obj, objpath, name, t, t, sp, &v);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

int h5w_attr_int(h5w *w, hid_t obj, const char *objpath, const char *name, int64_t value)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    int rc = sp < 0 ? h5w_fail(w, objpath, "out of memory")
                    : write_attr(w, obj, objpath, name, H5T_STD_I64LE, H5T_NATIVE_INT64, sp, &value);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

int h5w_attr_strings(h5w *w, hid_t obj, const char *objpath, const char *name, const char *const *s, int64_t n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t t = utf8_vlen(), sp = H5Screate_simple(1, dims, NULL);
    int rc = t < 0 || sp < 0 ? h5w_fail(w, objpath, "out of memory") : write_attr(w, obj, objpath, name, t, t, sp, s);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}
