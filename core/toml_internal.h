/* What core/toml.c tells its own tests (internal; not installed). */
#ifndef TWINBRAIN_TOML_INTERNAL_H
#define TWINBRAIN_TOML_INTERNAL_H

/* Slots and keys the calling thread's table look-ups have examined so far:
 * a count of work, so that a test can hold parsing to linear time without
 * timing it. */
unsigned long long tb_toml_key_probes(void);

#endif
