/* patchgate: JSON read with the project's bounds (one parser for every
 * input: states, configs, policies, engine metadata).
 */
#include "base/json.h"
#include "base/file.h"

#include <string.h>
#include <sys/random.h>

static int
pg_json_check_depth (json_t *j, int depth)
{
  const char *key;
  json_t *v;
  size_t i;

  if (depth > PG_MAX_JSON_DEPTH)
    return -1;
  if (json_is_object (j))
    json_object_foreach (j, key, v)
      if (pg_json_check_depth (v, depth + 1) < 0)
        return -1;
  if (json_is_array (j))
    json_array_foreach (j, i, v)
      if (pg_json_check_depth (v, depth + 1) < 0)
        return -1;
  return 0;
}

/* BUF[I] opens a string: the index of its closing quote, or LEN.  Every
   scan of raw JSON text below skips strings this one way.  */
static size_t
string_end (const char *buf, size_t len, size_t i)
{
  for (i++; i < len; i++)
    {
      if (buf[i] == '\\')
        i++;
      else if (buf[i] == '"')
        return i;
    }
  return len;
}

/* One pass over the text before jansson sees it.  Jansson nests
   recursively up to its own compile-time limit (2048); ours is lower, so
   brackets are counted and jansson is never handed more.  Every value but
   the first is preceded by a ',' or opens a container ('[' or '{' counted
   here, its first member after it): commas plus opening brackets plus one
   bounds the number of values from above, before jansson allocates
   anything.  */
static size_t
measure (const char *buf, size_t len, bool *too_deep)
{
  size_t n = 1;
  int depth = 0;

  *too_deep = false;
  for (size_t i = 0; i < len; i++)
    {
      char c = buf[i];
      if (c == '"')
        i = string_end (buf, len, i);
      else if (c == '{' || c == '[')
        {
          n++;
          if (++depth > PG_MAX_JSON_DEPTH)
            *too_deep = true;
        }
      else if (c == '}' || c == ']')
        depth--;
      else if (c == ',')
        n++;
    }
  return n;
}

size_t
pg_json_count_values (const char *buf, size_t len)
{
  bool too_deep;
  return measure (buf, len, &too_deep);
}

size_t
pg_json_container_end (const char *buf, size_t len)
{
  size_t depth = 0;

  if (len == 0 || (buf[0] != '{' && buf[0] != '['))
    return 0;
  for (size_t i = 0; i < len; i++)
    {
      char c = buf[i];
      if (c == '"')
        i = string_end (buf, len, i);
      else if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && --depth == 0)
        return i + 1;
    }
  return 0;
}

int
pg_json_parse (const char *buf, size_t len, const char *name, json_t **out, pg_error_t *err)
{
  return pg_json_parse_flags (buf, len, name, 0, out, err);
}

int
pg_json_parse_flags (const char *buf, size_t len, const char *name, size_t flags, json_t **out,
                     pg_error_t *err)
{
  /* JSON_ALLOW_NUL is not passed: a "\u0000" in a string is rejected.  */
  const struct pg_json_limits lim = { PG_MAX_JSON_VALUES, flags & ~(size_t) JSON_ALLOW_NUL };
  return pg_json_parse_limited (buf, len, name, &lim, NULL, out, err);
}

int
pg_json_parse_limited (const char *buf, size_t len, const char *name, const struct pg_json_limits *lim,
                       size_t *used, json_t **out, pg_error_t *err)
{
  bool stream = (lim->flags & JSON_DISABLE_EOF_CHECK) != 0;
  json_error_t jerr;
  json_t *j;

  /* json_error_t.position is an int.  */
  if (len > (size_t) INT32_MAX)
    return pg_make_error (err, 0, "%s: larger than %d bytes", name, INT32_MAX);
  /* A stream is bounded once, whole, by its reader: scanning the rest of
     it before each value would be quadratic.  */
  if (!stream)
    {
      bool too_deep;
      size_t values = measure (buf, len, &too_deep);
      if (too_deep)
        return pg_make_error (err, 0, "%s: JSON nested deeper than %d levels", name, PG_MAX_JSON_DEPTH);
      if (values > lim->max_values)
        return pg_make_error (err, 0, "%s: JSON with more than %zu values", name, lim->max_values);
    }
  j = json_loadb (buf, len, JSON_REJECT_DUPLICATES | lim->flags, &jerr);
  if (j == NULL)
    return pg_make_error (err, 0, "%s: invalid JSON at line %d column %d: %s", name, jerr.line, jerr.column,
                          jerr.text);
  /* jansson's own nesting limit (2048) bounds this recursion.  */
  if (pg_json_check_depth (j, 0) < 0)
    {
      json_decref (j);
      return pg_make_error (err, 0, "%s: JSON nested deeper than %d levels", name, PG_MAX_JSON_DEPTH);
    }
  if (used)
    *used = jerr.position >= 0 ? (size_t) jerr.position : len;
  *out = j;
  return 0;
}

int
pg_json_load_file (const char *path, size_t max, json_t **out, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (read_all_file (path, max, &buf, &len, err) < 0)
    return -1;
  return pg_json_parse (buf, len, path, out, err);
}

const char *
pg_json_string (json_t *obj, const char *key)
{
  json_t *v = json_is_object (obj) ? json_object_get (obj, key) : NULL;
  return json_is_string (v) ? json_string_value (v) : NULL;
}

json_t *
pg_json_path (json_t *obj, const char *path)
{
  char key[256];
  const char *p = path;

  while (obj && *p)
    {
      const char *dot = strchr (p, '.');
      size_t n = dot ? (size_t) (dot - p) : strlen (p);
      if (n >= sizeof (key) || !json_is_object (obj))
        return NULL;
      memcpy (key, p, n);
      key[n] = '\0';
      obj = json_object_get (obj, key);
      p += n + (dot ? 1 : 0);
    }
  return obj;
}

bool
pg_json_is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

json_t *
pg_json_strv (char *const *v, size_t n)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

void
pg_json_seed (void)
{
  uint32_t seed = 0;

  if (getrandom (&seed, sizeof (seed), GRND_NONBLOCK) != (ssize_t) sizeof (seed))
    seed = 0;
  /* 0 asks jansson to find a seed itself.  */
  json_object_seed (seed);
}
