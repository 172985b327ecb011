/* Checkpoints: sections, slots, and reading them back (checkpoint.h).
 *
 * A slot holds one checkpoint: a header (magic, step, size of the
 * sections, SHA-256 of the sections) followed by the sections, each
 * [u32 name length][name][u64 size][bytes]. A slot is used only when its
 * digest matches, so a checkpoint torn by a crash is never restored: the
 * other slot, one checkpoint older, is. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "checkpoint.h"
#include "h5util.h"
#include "sha256.h"
#include "util.h"

#define MAGIC "TBCKPT1"
#define HEADER_BYTES (8 + 8 + 8 + TB_SHA256_BYTES)

struct tb_ckpt {
    bool restoring;
    unsigned char *data;
    size_t len, cap, pos; /* pos: the next section to restore */
};

bool tb_ckpt_restoring(const tb_ckpt *ck)
{
    return ck->restoring;
}

tb_ckpt *tb_ckpt_new(void)
{
    tb_ckpt *ck = calloc(1, sizeof *ck);
    if (ck)
        ck->pos = HEADER_BYTES;
    return ck;
}

void tb_ckpt_free(tb_ckpt *ck)
{
    if (!ck)
        return;
    free(ck->data);
    free(ck);
}

static bool reserve(tb_ckpt *ck, size_t more)
{
    if (ck->len + more <= ck->cap)
        return true;
    size_t cap = ck->cap ? ck->cap : 4096;
    while (cap < ck->len + more)
        cap *= 2;
    unsigned char *d = realloc(ck->data, cap);
    if (!d)
        return false;
    ck->data = d;
    ck->cap = cap;
    return true;
}

/* A new section's header; returns where its bytes go, or NULL. */
static unsigned char *add_section(tb_ckpt *ck, const char *name, size_t bytes)
{
    uint32_t nl = (uint32_t)strlen(name);
    uint64_t b = bytes;
    if (ck->len == 0) {
        if (!reserve(ck, HEADER_BYTES))
            return NULL;
        memset(ck->data, 0, HEADER_BYTES);
        ck->len = HEADER_BYTES;
    }
    if (!reserve(ck, sizeof nl + nl + sizeof b + bytes))
        return NULL;
    unsigned char *p = ck->data + ck->len;
    memcpy(p, &nl, sizeof nl);
    memcpy(p + sizeof nl, name, nl);
    memcpy(p + sizeof nl + nl, &b, sizeof b);
    ck->len += sizeof nl + nl + sizeof b + bytes;
    return p + sizeof nl + nl + sizeof b;
}

/* The next section to restore, checked against the run's name and size. */
static const unsigned char *next_section(tb_ckpt *ck, const char *name, size_t bytes, tb_error *err)
{
    uint32_t nl = 0;
    uint64_t b = 0;
    size_t left = ck->len - ck->pos;
    const unsigned char *p = ck->data + ck->pos;
    if (left >= sizeof nl)
        memcpy(&nl, p, sizeof nl);
    bool whole = left >= sizeof nl && nl <= left - sizeof nl && left - sizeof nl - nl >= sizeof b;
    if (whole)
        memcpy(&b, p + sizeof nl + nl, sizeof b);
    whole = whole && b <= left - sizeof nl - nl - sizeof b;
    if (!whole || nl != strlen(name) || memcmp(p + sizeof nl, name, nl) != 0 || b != bytes) {
        tb_error_set(err, TB_ERR_RESUME,
                     "the checkpoint does not fit this run: it has %s%.*s%s (%llu bytes) where the run has '%s' "
                     "(%zu bytes); resume on the devices the run was started on",
                     whole ? "'" : "", whole ? (int)nl : 7, whole ? (const char *)p + sizeof nl : "nothing",
                     whole ? "'" : "", (unsigned long long)b, name, bytes);
        return NULL;
    }
    ck->pos += sizeof nl + nl + sizeof b + bytes;
    return p + sizeof nl + nl + sizeof b;
}

tb_status tb_ckpt_host(tb_ckpt *ck, const char *name, void *data, size_t bytes, tb_error *err)
{
    if (ck->restoring) {
        const unsigned char *p = next_section(ck, name, bytes, err);
        if (!p)
            return TB_ERR_RESUME;
        memcpy(data, p, bytes);
        return TB_OK;
    }
    unsigned char *p = add_section(ck, name, bytes);
    if (!p)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory for the checkpoint (%s)", name);
    memcpy(p, data, bytes);
    return TB_OK;
}

tb_status tb_ckpt_device(tb_ckpt *ck, const char *name, tb_device *dev, cl_mem buf, size_t bytes, tb_error *err)
{
    cl_command_queue q = tb_device_queue(dev);
    cl_int rc;
    if (ck->restoring) {
        const unsigned char *p = next_section(ck, name, bytes, err);
        if (!p)
            return TB_ERR_RESUME;
        rc = bytes ? clEnqueueWriteBuffer(q, buf, CL_TRUE, 0, bytes, p, 0, NULL, NULL) : CL_SUCCESS;
    } else {
        unsigned char *p = add_section(ck, name, bytes);
        if (!p)
            return tb_error_set(err, TB_ERR_OTHER, "out of memory for the checkpoint (%s)", name);
        rc = bytes ? clEnqueueReadBuffer(q, buf, CL_TRUE, 0, bytes, p, 0, NULL, NULL) : CL_SUCCESS;
    }
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, ck->restoring ? "restoring a checkpoint" : "saving a checkpoint");
    return TB_OK;
}

tb_status tb_ckpt_done(const tb_ckpt *ck, tb_error *err)
{
    if (ck->restoring && ck->pos != ck->len)
        return tb_error_set(err, TB_ERR_RESUME,
                            "the checkpoint holds %zu bytes of state this run does not have; resume on the "
                            "devices the run was started on",
                            ck->len - ck->pos);
    return TB_OK;
}

/* ------------------------------------------------------------ slots */

tb_status tb_ckpt_declare(tb_output *o, tb_ckpt_slots *s, tb_error *err)
{
    *s = (tb_ckpt_slots){0};
    tb_status st = tb_output_blob_create(o, "/checkpoint/slot0", &s->slot[0], err);
    if (st == TB_OK)
        st = tb_output_blob_create(o, "/checkpoint/slot1", &s->slot[1], err);
    if (st == TB_OK)
        st = tb_output_attr_string(o, "/checkpoint", "layout",
                                   "slot: magic TBCKPT1, u64 step, u64 bytes, sha256 of the sections; sections "
                                   "[u32 name length][name][u64 bytes][bytes], little-endian",
                                   err);
    return st;
}

tb_status tb_ckpt_store(tb_ckpt_slots *s, uint64_t step, const tb_ckpt *ck, tb_error *err)
{
    if (ck->len < HEADER_BYTES)
        return tb_error_set(err, TB_ERR_OTHER, "internal error: an empty checkpoint");
    uint64_t bytes = ck->len - HEADER_BYTES;
    memcpy(ck->data, MAGIC, 8);
    memcpy(ck->data + 8, &step, 8);
    memcpy(ck->data + 16, &bytes, 8);
    tb_sha256_digest(ck->data + HEADER_BYTES, bytes, ck->data + 24);
    tb_status st = tb_output_dataset_rewrite(s->slot[s->next], ck->data, ck->len, err);
    if (st == TB_OK)
        s->next ^= 1;
    return st;
}

/* ------------------------------------------------------------ reading */

/* A slot's bytes, or NULL when it cannot be read. */
static unsigned char *read_slot(hid_t f, const char *path, size_t *n)
{
    *n = 0;
    if (H5Lexists(f, "/checkpoint", H5P_DEFAULT) <= 0 || H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t space = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hssize_t count = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    unsigned char *buf = count > 0 ? malloc((size_t)count) : NULL;
    if (buf && H5Dread(ds, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    if (buf)
        *n = (size_t)count;
    return buf;
}

/* Whether the slot is whole: its header, its size and its digest. */
static bool slot_whole(const unsigned char *d, size_t n, uint64_t *step)
{
    uint64_t bytes;
    unsigned char digest[TB_SHA256_BYTES];
    if (!d || n < HEADER_BYTES || memcmp(d, MAGIC, 8) != 0)
        return false;
    memcpy(step, d + 8, 8);
    memcpy(&bytes, d + 16, 8);
    if (bytes != n - HEADER_BYTES)
        return false;
    tb_sha256_digest(d + HEADER_BYTES, bytes, digest);
    return memcmp(digest, d + 24, TB_SHA256_BYTES) == 0;
}

static tb_status load(const char *path, uint64_t *step, tb_ckpt **out, tb_error *err)
{
    hid_t f = tb_h5_open_read(path);
    if (f < 0)
        return tb_error_set(err, TB_ERR_INPUT, "%s: cannot open it as an HDF5 file", path);
    unsigned char *best = NULL;
    size_t best_n = 0;
    bool any = H5Lexists(f, "/checkpoint", H5P_DEFAULT) > 0;
    for (int k = 0; k < 2; ++k) {
        size_t n;
        uint64_t s;
        unsigned char *d = read_slot(f, k ? "/checkpoint/slot1" : "/checkpoint/slot0", &n);
        if (slot_whole(d, n, &s) && (!best || s > *step)) {
            free(best);
            best = d, best_n = n, *step = s;
        } else {
            free(d);
        }
    }
    H5Fclose(f);
    if (!best)
        return tb_error_set(err, TB_ERR_RESUME, "%s: %s", path,
                            any ? "no whole checkpoint in it yet (the run was stopped before its first one)"
                                : "it has no checkpoints (run with --checkpoint-every T to make a run resumable)");
    tb_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck) {
        free(best);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    *ck = (tb_ckpt){.restoring = true, .data = best, .len = best_n, .cap = best_n, .pos = HEADER_BYTES};
    *out = ck;
    return TB_OK;
}

tb_status tb_ckpt_load(const char *path, uint64_t *step, tb_ckpt **ck, tb_error *err)
{
    *ck = NULL;
    *step = 0;
    tb_h5_quiet q = tb_h5_quiet_begin();
    tb_status st = load(path, step, ck, err);
    tb_h5_quiet_end(q);
    return st;
}
