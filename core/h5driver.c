/* The output file's HDF5 driver: see h5driver.h for why it exists. It
 * follows HDF5's sec2 driver (pread/pwrite on one descriptor, the end of
 * file tracked in memory, flock for HDF5's file locking), written against
 * the public driver interface with designated initialisers, so it builds
 * with the 1.10 and the 1.14 layouts of H5FD_class_t. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5driver.h"

/* A write made after the disk refused one: HDF5 may read it back while it
 * closes the file, so it is kept. */
typedef struct kept_write {
    haddr_t addr;
    size_t size;
    unsigned char *data;
} kept_write;

typedef struct tb_h5_file {
    H5FD_t pub; /* first: HDF5 sees this part */
    int fd;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    bool ignore_disabled_locks;
    int failed; /* errno of the first failed write; from then on nothing reaches the disk */
    kept_write *kept;
    size_t n_kept, cap_kept;
} tb_h5_file;

static _Thread_local int last_errno;

int tb_h5_driver_take_errno(void)
{
    int e = last_errno;
    last_errno = 0;
    return e;
}

/* The reason goes on HDF5's error stack, innermost, where tb_h5_reason_take
 * finds it: "No space left on device" rather than "write failed". */
static void push_reason(int e, hid_t minor, const char *what)
{
    const char *text = e == EWOULDBLOCK ? "the file is locked: another program has it open" : strerror(e);
    H5Epush2(H5E_DEFAULT, __FILE__, what, __LINE__, H5E_ERR_CLS, H5E_VFL, minor, "%s", text);
}

/* A failure of I/O on an open file is also remembered for the caller
 * (tb_h5_driver_take_errno). Failed opens are not: HDF5 probes for a file
 * before creating it, and that expected ENOENT is no one's error. */
static herr_t fail_errno(int e, hid_t minor, const char *what)
{
    if (!last_errno)
        last_errno = e;
    push_reason(e, minor, what);
    return -1;
}

/* ------------------------------------------------------------ open, close */

static int open_flags(unsigned flags)
{
    int o = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_CREAT)
        o |= O_CREAT;
    if (flags & H5F_ACC_EXCL)
        o |= O_EXCL;
    return o | O_CLOEXEC; /* O_TRUNC only once the file is locked (below) */
}

/* Truncating an existing file that another process has open (and locked)
 * would destroy it before HDF5's own lock attempt fails: lock first. */
static int truncate_locked(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno != ENOSYS)
        return errno == EWOULDBLOCK ? EWOULDBLOCK : errno;
    return ftruncate(fd, 0) == 0 ? 0 : errno;
}

static H5FD_t *drv_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    int fd = open(name, open_flags(flags), 0666);
    if (fd < 0) {
        push_reason(errno, H5E_CANTOPENFILE, "open");
        return NULL;
    }
    struct stat st;
    int e = fstat(fd, &st) == 0 ? 0 : errno;
    if (e == 0 && (flags & H5F_ACC_TRUNC))
        e = truncate_locked(fd);
    tb_h5_file *f = e == 0 ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        close(fd);
        push_reason(e ? e : ENOMEM, H5E_CANTOPENFILE, "open");
        return NULL;
    }
    f->fd = fd;
    f->eof = (flags & H5F_ACC_TRUNC) ? 0 : (haddr_t)st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
#if H5_VERSION_GE(1, 10, 7)
    hbool_t use = 1, ignore = 0;
    if (H5Pget_file_locking(fapl, &use, &ignore) >= 0)
        f->ignore_disabled_locks = ignore;
#endif
    return &f->pub;
}

static herr_t drv_close(H5FD_t *file)
{
    tb_h5_file *f = (tb_h5_file *)file;
    int r = close(f->fd);
    for (size_t i = 0; i < f->n_kept; i++)
        free(f->kept[i].data);
    free(f->kept);
    free(f);
    return r == 0 ? 0 : fail_errno(errno, H5E_CANTCLOSEFILE, "close");
}

static int drv_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const tb_h5_file *x = (const tb_h5_file *)a, *y = (const tb_h5_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static herr_t drv_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE | H5FD_FEAT_SUPPORTS_SWMR_IO |
             H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

/* ------------------------------------------------------------ addresses */

static haddr_t drv_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const tb_h5_file *)file)->eoa;
}

static herr_t drv_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    ((tb_h5_file *)file)->eoa = addr;
    return 0;
}

static haddr_t drv_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const tb_h5_file *)file)->eof;
}

static herr_t drv_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((tb_h5_file *)file)->fd;
    return 0;
}

/* ------------------------------------------------------------ I/O */

/* Later kept writes cover earlier ones, as they would have on disk. */
static void apply_kept(const tb_h5_file *f, haddr_t addr, size_t size, unsigned char *buf)
{
    for (size_t i = 0; i < f->n_kept; i++) {
        const kept_write *k = &f->kept[i];
        haddr_t lo = k->addr > addr ? k->addr : addr;
        haddr_t hi = k->addr + k->size < addr + size ? k->addr + k->size : addr + size;
        if (lo < hi)
            memcpy(buf + (lo - addr), k->data + (lo - k->addr), (size_t)(hi - lo));
    }
}

static herr_t drv_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buf)
{
    (void)type, (void)dxpl;
    tb_h5_file *f = (tb_h5_file *)file;
    unsigned char *p = buf;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(f->fd, p + done, size - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail_errno(errno, H5E_READERROR, "read");
        if (n == 0)
            break; /* past the end of the file: zeros, as sec2 gives */
        done += (size_t)n;
    }
    memset(p + done, 0, size - done);
    apply_kept(f, addr, size, p);
    return 0;
}

static herr_t keep(tb_h5_file *f, haddr_t addr, size_t size, const void *buf)
{
    if (f->n_kept == f->cap_kept) {
        size_t cap = f->cap_kept ? 2 * f->cap_kept : 16;
        kept_write *k = realloc(f->kept, cap * sizeof *k);
        if (!k)
            return fail_errno(ENOMEM, H5E_WRITEERROR, "write");
        f->kept = k;
        f->cap_kept = cap;
    }
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return fail_errno(ENOMEM, H5E_WRITEERROR, "write");
    memcpy(copy, buf, size);
    f->kept[f->n_kept++] = (kept_write){addr, size, copy};
    return 0;
}

static herr_t drv_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void *buf)
{
    (void)type, (void)dxpl;
    tb_h5_file *f = (tb_h5_file *)file;
    herr_t r = 0;
    if (f->failed) {
        r = keep(f, addr, size, buf);
    } else {
        const unsigned char *p = buf;
        size_t done = 0;
        while (done < size) {
            ssize_t n = pwrite(f->fd, p + done, size - done, (off_t)(addr + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                f->failed = n < 0 ? errno : EIO;
                return fail_errno(f->failed, H5E_WRITEERROR, "write");
            }
            done += (size_t)n;
        }
    }
    if (r == 0 && addr + size > f->eof)
        f->eof = addr + size;
    return r;
}

static herr_t drv_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)dxpl, (void)closing;
    tb_h5_file *f = (tb_h5_file *)file;
    if (f->eoa == f->eof || f->failed)
        return 0; /* after a failed write the disk keeps its last good state */
    if (ftruncate(f->fd, (off_t)f->eoa) != 0)
        return fail_errno(errno, H5E_SEEKERROR, "truncate");
    f->eof = f->eoa;
    return 0;
}

static herr_t drv_lock(H5FD_t *file, hbool_t rw)
{
    tb_h5_file *f = (tb_h5_file *)file;
    if (flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
        return 0;
    if (errno == ENOSYS && f->ignore_disabled_locks)
        return 0;
    push_reason(errno, H5E_CANTLOCKFILE, "lock"); /* part of opening: not an I/O failure */
    return -1;
}

static herr_t drv_unlock(H5FD_t *file)
{
    tb_h5_file *f = (tb_h5_file *)file;
    if (flock(f->fd, LOCK_UN) == 0 || (errno == ENOSYS && f->ignore_disabled_locks))
        return 0;
    return fail_errno(errno, H5E_CANTUNLOCKFILE, "unlock");
}

/* ------------------------------------------------------------ registration */

static const H5FD_class_t driver_class = {
#ifdef H5FD_CLASS_VERSION
    .version = H5FD_CLASS_VERSION,
    .value = 600, /* the range HDF5 leaves to applications' own drivers (256-511 are testing; 512+ free) */
#endif
    .name = "twinbrain",
    .maxaddr = (haddr_t)INT64_MAX,
    .fc_degree = H5F_CLOSE_WEAK,
    .open = drv_open,
    .close = drv_close,
    .cmp = drv_cmp,
    .query = drv_query,
    .get_eoa = drv_get_eoa,
    .set_eoa = drv_set_eoa,
    .get_eof = drv_get_eof,
    .get_handle = drv_get_handle,
    .read = drv_read,
    .write = drv_write,
    .truncate = drv_truncate,
    .lock = drv_lock,
    .unlock = drv_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

/* Registered once per HDF5 session (H5close() invalidates the id). The
 * serial HDF5 is not thread-safe anyway (docs/architecture.md). */
static hid_t driver_id = H5I_INVALID_HID;

herr_t tb_h5_driver_set(hid_t fapl)
{
    if (driver_id < 0 || H5Iis_valid(driver_id) <= 0)
        driver_id = H5FDregister(&driver_class);
    return driver_id < 0 ? -1 : H5Pset_driver(fapl, driver_id, NULL);
}
