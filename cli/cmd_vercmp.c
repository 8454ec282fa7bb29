/* patchgate vercmp: compare package versions as dpkg, rpm or apk-tools do.

   `patchgate vercmp SCHEME A B` prints one of '<', '=' or '>'.  The batch
   mode reads "A B" lines from stdin and answers each on its own line; it is
   what the differential test against the real dpkg and rpm uses, so that
   thousands of pairs cost one process.  */

#include "cli.h"
#include "version/version.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

/* A batch line longer than this is refused rather than buffered.  */
#define VERCMP_MAX_LINE (64u << 10)

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate vercmp dpkg|rpm|apk A B\n"
                "       patchgate vercmp --batch dpkg|rpm|apk < PAIRS\n"
                "\n"
                "Compare two package versions with the exact ordering of dpkg, rpm (rpmvercmp on\n"
                "[epoch:]version[-release]) or apk-tools, and print '<', '=' or '>' as A is older\n"
                "than, equal to or newer than B.  A malformed version is an error.\n"
                "\n"
                "  --batch SCHEME  read lines \"A B\" (two versions separated by blanks) from standard\n"
                "                  input and print one line for each: '<', '=', '>', or\n"
                "                  'error: MESSAGE' for a malformed line; the exit status is 2 if\n"
                "                  any line was malformed\n"
                "  -h, --help      show this help\n"
                "\n"
                "Exit status: 0 compared, 2 wrong usage or a malformed version.\n");
}

static int usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
usage_error (const char *fmt, ...)
{
  pg_error_t err = NULL;
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  pg_make_error (&err, 0, "%s", msg ? msg : "vercmp: usage error");
  cli_fail (&err);
  fprintf (stderr, "Try `patchgate vercmp --help`.\n");
  return 2;
}

static const char *
symbol (int r)
{
  return r < 0 ? "<" : r > 0 ? ">" : "=";
}

/* Split LINE in place into exactly two blank-separated fields.  */
static bool
split_pair (char *line, char **a, char **b)
{
  char *save = NULL;

  *a = strtok_r (line, " \t\r\n", &save);
  *b = *a ? strtok_r (NULL, " \t\r\n", &save) : NULL;
  return *a && *b && strtok_r (NULL, " \t\r\n", &save) == NULL;
}

static int
run_batch (enum pg_version_scheme scheme)
{
  cleanup_free char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  bool malformed = false;

  while ((len = getline (&line, &cap, stdin)) >= 0)
    {
      cleanup_error pg_error_t err = NULL;
      char *a, *b;
      int r;

      if ((size_t) len > VERCMP_MAX_LINE)
        {
          printf ("error: line longer than %u bytes\n", VERCMP_MAX_LINE);
          malformed = true;
        }
      else if (!split_pair (line, &a, &b))
        {
          printf ("error: expected two versions separated by blanks\n");
          malformed = true;
        }
      else if (version_compare (scheme, a, b, &r, &err) < 0)
        {
          printf ("error: %s\n", err->msg);
          malformed = true;
        }
      else
        puts (symbol (r));
    }

  if (ferror (stdin) || fflush (stdout) != 0 || ferror (stdout))
    {
      pg_error_t err = NULL;
      pg_make_error (&err, 0, "vercmp --batch: read or write error");
      return cli_fail (&err);
    }
  return malformed ? 2 : 0;
}

int
cmd_vercmp (int argc, char **argv)
{
  static const struct option opts[] = { { "batch", required_argument, NULL, 'b' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  enum pg_version_scheme scheme;
  const char *batch = NULL;
  pg_error_t err = NULL;
  int c, r;

  /* '+': stop at the scheme, so that a version may start with '-'.  */
  opterr = 0;
  optind = 0;
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (c)
      {
      case 'b':
        batch = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        return usage_error ("vercmp: invalid option or missing argument `%s`", argv[optind - 1]);
      }

  if (batch)
    {
      if (optind != argc)
        return usage_error ("vercmp: --batch takes no versions on the command line (got `%s`)", argv[optind]);
      if (version_scheme_parse (batch, &scheme, &err) < 0)
        return cli_fail (&err);
      return run_batch (scheme);
    }

  if (argc - optind != 3)
    return usage_error ("vercmp: expected SCHEME A B");
  if (version_scheme_parse (argv[optind], &scheme, &err) < 0
      || version_compare (scheme, argv[optind + 1], argv[optind + 2], &r, &err) < 0)
    return cli_fail (&err);
  puts (symbol (r));
  if (fflush (stdout) != 0)
    {
      pg_make_error (&err, 0, "vercmp: write error");
      return cli_fail (&err);
    }
  return 0;
}
