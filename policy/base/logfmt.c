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

/* Escape VALUE (VLEN bytes) into OUT (room for MAX bytes plus the mark and
   a NUL): quotes and backslashes backslashed, every byte outside printable
   ASCII as \xNN.  Stops before the escape that would pass MAX, and marks
   it (*CUT).  Returns the length written.  */
static size_t
escape_into (char *out, const char *value, size_t vlen, size_t max, bool *cut)
{
  static const char hex[] = "0123456789abcdef";
  char *p = out;

  *cut = false;
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
          *cut = true;
          break;
        }
      memcpy (p, esc, n);
      p += n;
    }
  *p = '\0';
  return (size_t) (p - out);
}

/* The most bytes VLEN bytes escape to, at most MAX.  */
static size_t
escaped_max (size_t vlen, size_t max)
{
  return 4 * vlen < max ? 4 * vlen : max;
}

char *
logfmt_escape (const char *value, size_t max)
{
  size_t vlen = value ? strlen (value) : 0;
  size_t room = escaped_max (vlen, max);
  char *out = xmalloc0 (room + sizeof (LOGFMT_CUT_MARK) + 1);
  bool cut;

  escape_into (out, value, vlen, room, &cut);
  return out;
}

/* The value is escaped in place, one byte to the right of where it starts
   so that the opening quote fits when it needs one: a value with a byte
   that escaping changes, or cut, is quoted.  */
void
logfmt_append_max (char **line, const char *key, const char *value, size_t max)
{
  const char *raw = value ? value : "";
  size_t len = *line ? strlen (*line) : 0;
  size_t klen = strlen (key), vlen = strlen (raw);
  size_t room = escaped_max (vlen, max);
  size_t elen;
  bool quote, cut;
  char *p;

  /* ' ' key '=' '"' value (with the mark) '"' NUL */
  *line = xrealloc (*line, len + 1 + klen + 2 + room + sizeof (LOGFMT_CUT_MARK) + 2);
  p = *line + len;
  if (len)
    *p++ = ' ';
  memcpy (p, key, klen);
  p += klen;
  *p++ = '=';
  elen = escape_into (p + 1, raw, vlen, room, &cut);
  quote = cut || needs_quotes (raw, vlen);
  if (!quote)
    {
      memmove (p, p + 1, elen + 1);
      return;
    }
  *p = '"';
  p += 1 + elen;
  *p++ = '"';
  *p = '\0';
}

void
logfmt_append (char **line, const char *key, const char *value)
{
  logfmt_append_max (line, key, value, SIZE_MAX / 8);
}
