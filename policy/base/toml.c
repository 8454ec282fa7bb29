/* A reader of the TOML subset that base/toml.h describes.  It is strict
 * where the engines' own parsers are (an unterminated string or array, a
 * line that is no key = value, is an error: the engine would refuse to
 * start on it too) and lenient where its callers do not look (values they
 * do not need are stepped over).  */
#include "base/toml.h"
#include "base/file.h"

#include <errno.h>
#include <string.h>

struct cursor
{
  const char *p, *end;
  const char *name;
  int line;
};

static int
toml_error (struct cursor *c, pg_error_t *err, const char *what)
{
  return pg_make_error (err, 0, "%s:%d: %s", c->name, c->line, what);
}

static bool
at_end (struct cursor *c)
{
  return c->p >= c->end;
}

static void
skip_blank (struct cursor *c)
{
  while (!at_end (c) && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

static void
skip_comment (struct cursor *c)
{
  if (!at_end (c) && *c->p == '#')
    while (!at_end (c) && *c->p != '\n')
      c->p++;
}

/* Blanks, comments and newlines (inside arrays).  */
static void
skip_space_nl (struct cursor *c)
{
  for (;;)
    {
      skip_blank (c);
      skip_comment (c);
      if (!at_end (c) && (*c->p == '\n' || *c->p == '\r'))
        {
          if (*c->p == '\n')
            c->line++;
          c->p++;
          continue;
        }
      return;
    }
}

/* After a value or a header: only a comment may follow on the line.  */
static int
end_of_line (struct cursor *c, pg_error_t *err)
{
  skip_blank (c);
  skip_comment (c);
  if (!at_end (c) && *c->p == '\r')
    c->p++;
  if (at_end (c))
    return 0;
  if (*c->p != '\n')
    return toml_error (c, err, "unexpected text after a value");
  c->p++;
  c->line++;
  return 0;
}

static void
buf_add (char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
  if (*len + n + 1 > *cap)
    {
      *cap = (*len + n + 1) * 2;
      *buf = xrealloc (*buf, *cap);
    }
  memcpy (*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
}

static void
add_utf8 (char **buf, size_t *len, size_t *cap, unsigned long cp)
{
  char u[4];
  size_t n;

  if (cp < 0x80)
    u[0] = (char) cp, n = 1;
  else if (cp < 0x800)
    u[0] = (char) (0xc0 | (cp >> 6)), u[1] = (char) (0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char) (0xe0 | (cp >> 12)), u[1] = (char) (0x80 | ((cp >> 6) & 0x3f)),
    u[2] = (char) (0x80 | (cp & 0x3f)), n = 3;
  else
    u[0] = (char) (0xf0 | (cp >> 18)), u[1] = (char) (0x80 | ((cp >> 12) & 0x3f)),
    u[2] = (char) (0x80 | ((cp >> 6) & 0x3f)), u[3] = (char) (0x80 | (cp & 0x3f)), n = 4;
  buf_add (buf, len, cap, u, n);
}

/* A string at C->p (which is at its opening quote).  */
static int
parse_string (struct cursor *c, char **out, pg_error_t *err)
{
  char quote = *c->p;
  bool multi = c->end - c->p >= 3 && c->p[1] == quote && c->p[2] == quote;
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0;

  buf_add (&buf, &len, &cap, "", 0);
  c->p += multi ? 3 : 1;
  /* A newline right after the opening delimiter is not part of it.  */
  if (multi && !at_end (c) && *c->p == '\n')
    c->p++, c->line++;
  else if (multi && c->end - c->p >= 2 && c->p[0] == '\r' && c->p[1] == '\n')
    c->p += 2, c->line++;
  for (;;)
    {
      if (at_end (c))
        return toml_error (c, err, "unterminated string");
      if (*c->p == quote && (!multi || (c->end - c->p >= 3 && c->p[1] == quote && c->p[2] == quote)))
        {
          c->p += multi ? 3 : 1;
          break;
        }
      if (*c->p == '\n')
        {
          if (!multi)
            return toml_error (c, err, "newline in a string");
          c->line++;
        }
      if (quote == '"' && *c->p == '\\')
        {
          char e;
          c->p++;
          if (at_end (c))
            return toml_error (c, err, "unterminated string");
          e = *c->p++;
          switch (e)
            {
            case 'b':
              buf_add (&buf, &len, &cap, "\b", 1);
              break;
            case 't':
              buf_add (&buf, &len, &cap, "\t", 1);
              break;
            case 'n':
              buf_add (&buf, &len, &cap, "\n", 1);
              break;
            case 'f':
              buf_add (&buf, &len, &cap, "\f", 1);
              break;
            case 'r':
              buf_add (&buf, &len, &cap, "\r", 1);
              break;
            case '"':
            case '\\':
              buf_add (&buf, &len, &cap, &e, 1);
              break;
            case 'u':
            case 'U':
              {
                int digits = e == 'u' ? 4 : 8;
                unsigned long cp = 0;
                for (int i = 0; i < digits; i++, c->p++)
                  {
                    char h = at_end (c) ? 0 : *c->p;
                    int v = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (v < 0)
                      return toml_error (c, err, "bad \\u escape in a string");
                    cp = cp * 16 + (unsigned long) v;
                  }
                if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                  return toml_error (c, err, "bad \\u escape in a string");
                add_utf8 (&buf, &len, &cap, cp);
                break;
              }
            case '\n':
            case ' ':
            case '\t':
            case '\r':
              /* A line-ending backslash in a multi-line string eats the
                 whitespace that follows.  */
              if (!multi)
                return toml_error (c, err, "bad escape in a string");
              c->p--;
              while (!at_end (c) && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                {
                  if (*c->p == '\n')
                    c->line++;
                  c->p++;
                }
              break;
            default:
              return toml_error (c, err, "bad escape in a string");
            }
          continue;
        }
      if (*c->p == '\0')
        return toml_error (c, err, "NUL in a string");
      buf_add (&buf, &len, &cap, c->p, 1);
      c->p++;
    }
  *out = buf;
  buf = NULL;
  return 0;
}

static bool
is_bare_key_char (char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'
         || ch == '-';
}

/* A dotted key (a, "a.b", a.'b'.c), appended to *KEY.  */
static int
parse_key (struct cursor *c, char ***key, size_t *n, pg_error_t *err)
{
  for (;;)
    {
      skip_blank (c);
      if (at_end (c))
        return toml_error (c, err, "missing key");
      if (*c->p == '"' || *c->p == '\'')
        {
          cleanup_free char *part = NULL;
          if (c->end - c->p >= 3 && c->p[1] == c->p[0] && c->p[2] == c->p[0])
            return toml_error (c, err, "a multi-line string is not a key");
          if (parse_string (c, &part, err) < 0)
            return -1;
          strv_append (key, n, part);
        }
      else
        {
          const char *s = c->p;
          cleanup_free char *part = NULL;
          while (!at_end (c) && is_bare_key_char (*c->p))
            c->p++;
          if (c->p == s)
            return toml_error (c, err, "missing key");
          part = strndup (s, (size_t) (c->p - s));
          strv_append (key, n, part);
        }
      skip_blank (c);
      if (at_end (c) || *c->p != '.')
        return 0;
      c->p++;
    }
}

/* Step over a value doctor does not read (a number with a sign or an
   exponent, a date, an inline table, an array of anything), keeping to
   strings and brackets so that nothing inside ends it early.  */
static int
skip_value (struct cursor *c, pg_error_t *err)
{
  int depth = 0;
  while (!at_end (c))
    {
      char ch = *c->p;
      if (ch == '"' || ch == '\'')
        {
          cleanup_free char *ignored = NULL;
          if (parse_string (c, &ignored, err) < 0)
            return -1;
          continue;
        }
      if (ch == '[' || ch == '{')
        depth++;
      else if (ch == ']' || ch == '}')
        {
          if (depth == 0)
            return 0;
          depth--;
        }
      else if (depth == 0 && (ch == ',' || ch == '\n' || ch == '#'))
        return 0;
      else if (depth > 0 && ch == '#')
        {
          skip_comment (c);
          continue;
        }
      else if (ch == '\n')
        c->line++;
      c->p++;
    }
  if (depth > 0)
    return toml_error (c, err, "unterminated array or inline table");
  return 0;
}

static int
parse_value (struct cursor *c, struct pg_toml_entry *e, pg_error_t *err)
{
  skip_blank (c);
  if (at_end (c) || *c->p == '\n' || *c->p == '#')
    return toml_error (c, err, "missing value");
  if (*c->p == '"' || *c->p == '\'')
    {
      e->type = PG_TOML_STRING;
      return parse_string (c, &e->str, err);
    }
  if (*c->p == '[')
    {
      const char *start = c->p;
      int line = c->line;
      e->type = PG_TOML_STRINGS;
      c->p++;
      for (;;)
        {
          skip_space_nl (c);
          if (at_end (c))
            return toml_error (c, err, "unterminated array");
          if (*c->p == ']')
            {
              c->p++;
              return 0;
            }
          if (*c->p != '"' && *c->p != '\'')
            {
              /* Not an array of strings: step over it whole.  */
              strv_free (e->strv, e->n_strv);
              e->strv = NULL;
              e->n_strv = 0;
              e->type = PG_TOML_OTHER;
              c->p = start;
              c->line = line;
              return skip_value (c, err);
            }
          {
            cleanup_free char *s = NULL;
            if (parse_string (c, &s, err) < 0)
              return -1;
            strv_append (&e->strv, &e->n_strv, s);
          }
          skip_space_nl (c);
          if (!at_end (c) && *c->p == ',')
            c->p++;
          else if (!at_end (c) && *c->p != ']')
            return toml_error (c, err, "missing comma in an array");
        }
    }
  if (c->end - c->p >= 4 && strncmp (c->p, "true", 4) == 0
      && (c->end - c->p == 4 || !is_bare_key_char (c->p[4])))
    {
      e->type = PG_TOML_BOOL;
      e->boolean = true;
      c->p += 4;
      return 0;
    }
  if (c->end - c->p >= 5 && strncmp (c->p, "false", 5) == 0
      && (c->end - c->p == 5 || !is_bare_key_char (c->p[5])))
    {
      e->type = PG_TOML_BOOL;
      c->p += 5;
      return 0;
    }
  {
    const char *s = c->p;
    bool digits = true;
    long long v = 0;
    if (!at_end (c) && (*c->p == '+' || *c->p == '-'))
      c->p++;
    if (at_end (c) || !(*c->p >= '0' && *c->p <= '9'))
      digits = false;
    while (digits && !at_end (c) && ((*c->p >= '0' && *c->p <= '9') || *c->p == '_'))
      {
        if (*c->p != '_' && v < 100000000000000000LL)
          v = v * 10 + (*c->p - '0');
        c->p++;
      }
    if (digits
        && (at_end (c) || *c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r' || *c->p == '#'))
      {
        e->type = PG_TOML_INT;
        e->integer = *s == '-' ? -v : v;
        return 0;
      }
    c->p = s;
  }
  e->type = PG_TOML_OTHER;
  return skip_value (c, err);
}

static void
entry_free (struct pg_toml_entry *e)
{
  strv_free (e->key, e->n_key);
  free (e->str);
  strv_free (e->strv, e->n_strv);
}

void
pg_toml_free (struct pg_toml *doc)
{
  for (size_t i = 0; i < doc->n_entries; i++)
    entry_free (&doc->entries[i]);
  free (doc->entries);
  memset (doc, 0, sizeof (*doc));
}

static struct pg_toml_entry *
new_entry (struct pg_toml *doc, char *const *table, size_t n_table, int line)
{
  struct pg_toml_entry *e;
  doc->entries = xrealloc (doc->entries, (doc->n_entries + 1) * sizeof (*doc->entries));
  e = &doc->entries[doc->n_entries++];
  memset (e, 0, sizeof (*e));
  for (size_t i = 0; i < n_table; i++)
    strv_append (&e->key, &e->n_key, table[i]);
  e->line = line;
  return e;
}

int
pg_toml_parse (const char *buf, size_t len, const char *name, struct pg_toml *doc, pg_error_t *err)
{
  struct cursor c = { .p = buf, .end = buf + len, .name = name, .line = 1 };
  char **table = NULL;
  size_t n_table = 0;
  bool in_array_table = false;
  int ret = 0;

  memset (doc, 0, sizeof (*doc));
  if (memchr (buf, '\0', len))
    return pg_make_error (err, 0, "%s: NUL byte in a TOML file", name);
  while (!at_end (&c))
    {
      skip_space_nl (&c);
      if (at_end (&c))
        break;
      if (*c.p == '[')
        {
          bool array = c.end - c.p >= 2 && c.p[1] == '[';
          char **key = NULL;
          size_t n_key = 0;
          c.p += array ? 2 : 1;
          if (parse_key (&c, &key, &n_key, err) < 0)
            {
              strv_free (key, n_key);
              ret = -1;
              break;
            }
          if (at_end (&c) || *c.p != ']' || (array && (c.end - c.p < 2 || c.p[1] != ']')))
            {
              strv_free (key, n_key);
              ret = toml_error (&c, err, "unterminated table header");
              break;
            }
          c.p += array ? 2 : 1;
          strv_free (table, n_table);
          table = key;
          n_table = n_key;
          in_array_table = array;
          if (!array)
            new_entry (doc, table, n_table, c.line)->type = PG_TOML_TABLE;
          if (end_of_line (&c, err) < 0)
            {
              ret = -1;
              break;
            }
          continue;
        }
      {
        struct pg_toml_entry tmp = { 0 };
        int line = c.line;
        for (size_t i = 0; i < n_table; i++)
          strv_append (&tmp.key, &tmp.n_key, table[i]);
        if (parse_key (&c, &tmp.key, &tmp.n_key, err) < 0)
          {
            entry_free (&tmp);
            ret = -1;
            break;
          }
        if (at_end (&c) || *c.p != '=')
          {
            entry_free (&tmp);
            ret = toml_error (&c, err, "expected `key = value`");
            break;
          }
        c.p++;
        if (parse_value (&c, &tmp, err) < 0 || end_of_line (&c, err) < 0)
          {
            entry_free (&tmp);
            ret = -1;
            break;
          }
        tmp.line = line;
        if (in_array_table)
          {
            entry_free (&tmp);
            continue;
          }
        doc->entries = xrealloc (doc->entries, (doc->n_entries + 1) * sizeof (*doc->entries));
        doc->entries[doc->n_entries++] = tmp;
      }
    }
  strv_free (table, n_table);
  if (ret < 0)
    pg_toml_free (doc);
  return ret;
}

int
pg_toml_load_file (const char *path, struct pg_toml *doc, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;

  memset (doc, 0, sizeof (*doc));
  if (access (path, F_OK) < 0 && errno == ENOENT)
    return 0;
  if (read_all_file (path, PG_MAX_HOOK_CONFIG_SIZE, &buf, &len, err) < 0)
    return -1;
  if (pg_toml_parse (buf, len, path, doc, err) < 0)
    return -1;
  return 1;
}

static bool
key_equal (const struct pg_toml_entry *e, const char *const *key, size_t n, bool prefix)
{
  if (prefix ? e->n_key <= n : e->n_key != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp (e->key[i], key[i]) != 0)
      return false;
  return true;
}

const struct pg_toml_entry *
pg_toml_find (const struct pg_toml *doc, const char *const *key, size_t n)
{
  for (size_t i = doc->n_entries; i > 0; i--)
    if (key_equal (&doc->entries[i - 1], key, n, false))
      return &doc->entries[i - 1];
  return NULL;
}

bool
pg_toml_has_table (const struct pg_toml *doc, const char *const *key, size_t n)
{
  for (size_t i = 0; i < doc->n_entries; i++)
    if (key_equal (&doc->entries[i], key, n, true)
        || (doc->entries[i].type == PG_TOML_TABLE && key_equal (&doc->entries[i], key, n, false)))
      return true;
  return false;
}
