/* parse_floor: the baseline of the import benchmark.  Reads a stream of
 * concatenated JSON reports on stdin and parses each with jansson, as
 * `patchgate import -` must before it can record anything, then exits.
 * Prints the number of reports.  Import time over this program's time is
 * what recording costs beyond reading JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (void)
{
  size_t cap = 1 << 20, len = 0, off = 0, n = 0, r;
  char *buf = malloc (cap);

  while (buf && (r = fread (buf + len, 1, cap - len, stdin)) > 0)
    {
      len += r;
      if (len == cap)
        buf = realloc (buf, cap *= 2);
    }
  if (buf == NULL)
    return 2;
  while (off < len)
    {
      json_error_t e;
      json_t *doc;
      while (off < len && strchr (" \t\r\n", buf[off]))
        off++;
      if (off == len)
        break;
      doc = json_loadb (buf + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &e);
      if (doc == NULL)
        {
          fprintf (stderr, "parse_floor: report %zu: %s\n", n + 1, e.text);
          return 1;
        }
      off += e.position;
      json_decref (doc);
      n++;
    }
  printf ("%zu\n", n);
  free (buf);
  return 0;
}
