/* The `twinbrain` command's subcommands. Each takes its own argv, with
 * argv[0] the subcommand's name, and returns the process exit status
 * (DESIGN.md section 6: 0 success, 2 usage, 4 input file, 1 other). */
#ifndef TWINBRAIN_CLI_H
#define TWINBRAIN_CLI_H

/* twinbrain connectome generate|info|import ... (core/cli_connectome.c) */
int tb_cli_connectome(int argc, char **argv);

#endif
