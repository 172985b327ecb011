/* The HDF5 file driver of the output file (internal; core/h5driver.c).
 *
 * HDF5's own POSIX driver has two failure modes that lose data: a write
 * that fails (disk full, quota, file size limit) leaves HDF5 with dirty
 * metadata it cannot flush, so H5Fclose() fails, and HDF5 1.10 then frees
 * the file but keeps its id, which crashes in its exit handler; and
 * opening with truncation cuts a file to 0 bytes before finding it locked
 * by another process. This driver is that POSIX driver with two changes:
 *   - after the first failed write, nothing more reaches the disk: later
 *     writes are kept in memory (and read back from there), so HDF5 can
 *     close the file cleanly and the disk keeps the file as it was after
 *     the last write that succeeded, which SWMR ordering makes a readable
 *     file up to the last flushed chunk;
 *   - a file opened for truncation is locked before it is truncated. */
#ifndef TWINBRAIN_H5DRIVER_H
#define TWINBRAIN_H5DRIVER_H

#include <hdf5.h>

/* Select the driver on a file access property list; < 0 on failure. */
herr_t tb_h5_driver_set(hid_t fapl);

/* The errno of the first write, truncation or lock the driver failed
 * since the last call on this thread (0 when none); clears it. */
int tb_h5_driver_take_errno(void);

#endif
