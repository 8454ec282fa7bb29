/* patchgate: logfmt: key=value pairs, values quoted and escaped.  */
#include "base/logfmt.h"

#include <string.h>

#define LOGFMT_CUT_MARK "[cut]"

static bool
needs_quotes (const char *value, size_t vlen)
{
  if (vlen == 0)
    return true;
  for (size_t i = 0; i < vlen; i++)
    {
      unsigned char c = (unsigned char) value[i];
      if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
        return true;
    }
  return false;
}

/* Escape VALUE into OUT (room for MAX bytes plus the mark and a NUL):
   quotes and backslashes backslashed, every byte outside printable ASCII
   as \xNN.  Stops before the escape that would pass MAX, and marks it.  */
static void
escape_into (char *out, const char *value, size_t max)
{
  static const char hex[] = "0123456789abcdef";
  size_t vlen = value ? strlen (value) : 0;
  char *p = out;

  /* Byte by byte without snprintf: the hook renders several lines per
     start (its deadline's among them), and a formatted call per byte was a
     third of its instructions.  */
  for (size_t i = 0; i < vlen; i++)
    {
      unsigned char c = (unsigned char) value[i];
      char esc[4];
      size_t n;
      if (c == '"' || c == '\\')
        esc[0] = '\\', esc[1] = (char) c, n = 2;
      else if (c < ' ' || c >= 0x7f)
        esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15], n = 4;
      else
        esc[0] = (char) c, n = 1;
      if ((size_t) (p - out) + n > max)
        {
          p = stpcpy (p, LOGFMT_CUT_MARK);
          break;
        }
      memcpy (p, esc, n);
      p += n;
    }
  *p = '\0';
}

char *
logfmt_escape (const char *value, size_t max)
{
  size_t vlen = value ? strlen (value) : 0;
  size_t room = (4 * vlen < max ? 4 * vlen : max) + sizeof (LOGFMT_CUT_MARK) + 1;
  char *out = xmalloc0 (room);
  escape_into (out, value, room - sizeof (LOGFMT_CUT_MARK) - 1);
  return out;
}

void
logfmt_append_max (char **line, const char *key, const char *value, size_t max)
{
  size_t len = *line ? strlen (*line) : 0;
  size_t vlen = value ? strlen (value) : 0;
  cleanup_free char *v = logfmt_escape (value, max);
  bool quote = needs_quotes (value ? value : "", vlen) || strcmp (v, value ? value : "") != 0;
  char *p;

  *line = xrealloc (*line, len + strlen (key) + strlen (v) + 5);
  p = *line + len;
  if (len)
    *p++ = ' ';
  p += sprintf (p, quote ? "%s=\"%s\"" : "%s=%s", key, v);
}

void
logfmt_append (char **line, const char *key, const char *value)
{
  logfmt_append_max (line, key, value, SIZE_MAX / 8);
}
