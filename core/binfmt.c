/* Program binaries checked before a driver sees them: see binfmt.h. Each
 * walker reads only what the format's own header says about sizes and
 * offsets; nothing here decides whether a binary suits a device (the
 * driver does that, and refuses cleanly). */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "binfmt.h"

/* [off, off + size) lies within len bytes, without overflow. */
static bool fits(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

static uint64_t get(const unsigned char *p, int bytes, bool big_endian)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[big_endian ? i : bytes - 1 - i];
    return v;
}

static bool cut_short(char *why, size_t cap, const char *what, uint64_t off, uint64_t size, size_t len)
{
    snprintf(why, cap, "%s declares %" PRIu64 " bytes at byte %" PRIu64 ", but the file has %zu: it is cut short "
             "or damaged", what, size, off, len);
    return false;
}

/* ------------------------------------------------------------ PoCL */

/* The serialised layout (PoCL's lib/CL/pocl_binary.c): a header (magic,
 * device hash, version, kernel count, flags, build hash), program.bc as a
 * file record, then one record per kernel that starts with its own total
 * size. Format 9 (PoCL 3.x) has a 4 bytes longer header and prefixes each
 * file record with its size; format 7 has neither. */
typedef struct pocl_layout {
    uint32_t version;
    size_t header;
    bool sized_files;
} pocl_layout;

static const pocl_layout pocl_layouts[] = {{7, 73, false}, {9, 77, true}};

static bool pocl_file(const unsigned char *b, size_t len, const pocl_layout *l, size_t *pos, char *why, size_t cap)
{
    if (l->sized_files) {
        if (!fits(*pos, 8, len))
            return cut_short(why, cap, "the PoCL binary's program record", *pos, 8, len);
        uint64_t size = get(b + *pos, 8, false);
        if (!fits(*pos + 8, size, len))
            return cut_short(why, cap, "the PoCL binary's program record", *pos + 8, size, len);
        *pos += 8 + size;
        return true;
    }
    for (int s = 0; s < 2; s++) { /* file name, then content: u32 length + bytes each */
        uint64_t size = fits(*pos, 4, len) ? get(b + *pos, 4, false) : 4;
        if (!fits(*pos, 4, len) || !fits(*pos + 4, size, len))
            return cut_short(why, cap, "the PoCL binary's program record", *pos, size, len);
        *pos += 4 + size;
    }
    return true;
}

static bool pocl_ok(const unsigned char *b, size_t len, char *why, size_t cap)
{
    if (len < 77)
        return cut_short(why, cap, "the PoCL binary's header", 0, 77, len);
    uint32_t version = (uint32_t)get(b + 16, 4, false), kernels = (uint32_t)get(b + 20, 4, false);
    const pocl_layout *l = NULL;
    for (size_t i = 0; i < sizeof pocl_layouts / sizeof pocl_layouts[0]; i++)
        if (pocl_layouts[i].version == version)
            l = &pocl_layouts[i];
    if (!l)
        return true; /* a format not known here: the driver judges it */
    size_t pos = l->header;
    if (!pocl_file(b, len, l, &pos, why, cap))
        return false;
    for (uint32_t k = 0; k < kernels; k++) {
        uint64_t size = fits(pos, 20, len) ? get(b + pos, 8, false) : 20;
        uint64_t binaries = fits(pos, 20, len) ? get(b + pos + 8, 8, false) : 0;
        char what[64];
        snprintf(what, sizeof what, "kernel record %" PRIu32 " of %" PRIu32, k + 1, kernels);
        if (!fits(pos, 20, len) || size < 20 || binaries > size || !fits(pos, size, len))
            return cut_short(why, cap, what, pos, size, len);
        pos += size;
    }
    return true;
}

/* ------------------------------------------------------------ ELF */

typedef struct elf_shape {
    bool wide, big;
    uint64_t phoff, shoff;
    uint64_t phentsize, phnum, shentsize, shnum;
} elf_shape;

static elf_shape elf_read(const unsigned char *b)
{
    elf_shape e = {.wide = b[4] == 2, .big = b[5] == 2};
    int a = e.wide ? 8 : 4, h = e.wide ? 52 : 40; /* address size; offset of e_phentsize */
    e.phoff = get(b + (e.wide ? 32 : 28), a, e.big);
    e.shoff = get(b + (e.wide ? 40 : 32), a, e.big);
    e.phentsize = get(b + h + 2, 2, e.big);
    e.phnum = get(b + h + 4, 2, e.big);
    e.shentsize = get(b + h + 6, 2, e.big);
    e.shnum = get(b + h + 8, 2, e.big);
    return e;
}

static bool elf_sections_ok(const unsigned char *b, size_t len, const elf_shape *e, char *why, size_t cap)
{
    size_t min = e->wide ? 64 : 40;
    if (e->shnum && e->shentsize < min)
        return cut_short(why, cap, "the ELF section header table", e->shoff, e->shentsize, len);
    for (uint64_t i = 0; i < e->shnum; i++) {
        const unsigned char *s = b + e->shoff + i * e->shentsize;
        uint64_t type = get(s + 4, 4, e->big);
        uint64_t off = get(s + (e->wide ? 24 : 16), e->wide ? 8 : 4, e->big);
        uint64_t size = get(s + (e->wide ? 32 : 20), e->wide ? 8 : 4, e->big);
        if (type != 8 /* SHT_NOBITS: no bytes in the file */ && !fits(off, size, len))
            return cut_short(why, cap, "an ELF section", off, size, len);
    }
    return true;
}

static bool elf_ok(const unsigned char *b, size_t len, char *why, size_t cap)
{
    size_t header = len >= 5 && b[4] == 2 ? 64 : 52;
    if (len < header)
        return cut_short(why, cap, "the ELF header", 0, header, len);
    elf_shape e = elf_read(b);
    if (e.phnum && (e.phentsize > len || !fits(e.phoff, e.phnum * e.phentsize, len)))
        return cut_short(why, cap, "the ELF program header table", e.phoff, e.phnum * e.phentsize, len);
    if (e.shnum && (e.shentsize > len || !fits(e.shoff, e.shnum * e.shentsize, len)))
        return cut_short(why, cap, "the ELF section header table", e.shoff, e.shnum * e.shentsize, len);
    return elf_sections_ok(b, len, &e, why, cap);
}

/* ------------------------------------------------------------ xclbin */

/* struct axlf: magic, signature length, reserved, key block, unique id,
 * then the header whose first field is the file's total length. */
#define XCLBIN_LENGTH_AT 304

static bool xclbin_ok(const unsigned char *b, size_t len, char *why, size_t cap)
{
    if (len < XCLBIN_LENGTH_AT + 8)
        return cut_short(why, cap, "the xclbin header", 0, XCLBIN_LENGTH_AT + 8, len);
    uint64_t total = get(b + XCLBIN_LENGTH_AT, 8, false);
    return total <= len ? true : cut_short(why, cap, "the xclbin header", 0, total, len);
}

bool tb_binary_sizes_ok(const unsigned char *bin, size_t len, char *why, size_t cap)
{
    if (len >= 8 && memcmp(bin, "poclbin", 8) == 0)
        return pocl_ok(bin, len, why, cap);
    if (len >= 4 && memcmp(bin, "\177ELF", 4) == 0)
        return elf_ok(bin, len, why, cap);
    if (len >= 8 && memcmp(bin, "xclbin2", 8) == 0)
        return xclbin_ok(bin, len, why, cap);
    return true;
}
