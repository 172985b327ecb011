/* The progress line `twinbrain run` shows on a terminal. */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "twinbrain/sim.h"
#include "util.h"

static void clock_text(char *buf, size_t n, double seconds)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, n, "--:--");
        return;
    }
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

void tb_progress_line_update(const tb_sim_progress *p, void *ctx)
{
    tb_progress_line *pl = ctx;
    double now = tb_now();
    /* at most ten redraws a second, but always the last one */
    if (pl->active && now - pl->last < 0.1 && p->step < p->steps)
        return;
    pl->last = now;
    char left[32];
    clock_text(left, sizeof left, p->eta_seconds);
    fprintf(pl->out, "\r  t = %.1f / %.1f ms  %5.1f%%  %.3g steps/s  %s left   ", p->t_ms, p->duration_ms,
            p->steps ? 100.0 * (double)p->step / (double)p->steps : 100.0, p->steps_per_second, left);
    fflush(pl->out);
    pl->active = true;
}

void tb_progress_line_end(tb_progress_line *pl)
{
    if (pl->active)
        fprintf(pl->out, "\r\033[K");
    pl->active = false;
}
