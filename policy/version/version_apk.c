/* patchgate: Alpine version ordering, as apk-tools orders versions.

   The grammar is digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}:
   dot-separated numbers, at most one lowercase letter, any number of
   suffixes (_alpha _beta _pre _rc sort before the bare version, _cvs _svn
   _git _hg _p after it), an optional ~commit hash (lowercase hex) and an
   optional -rN package revision.

   Ordering follows apk-tools' tokenizer (src/version.c): both versions are
   walked token by token; while the token kinds agree their values decide
   (numbers numerically, except that a dot-separated number with a leading
   zero compares as a string, as in Gentoo; suffixes by their rank; hashes as
   strings).  When the kinds first differ, a pre-release suffix is older than
   anything, and otherwise the version whose token kind comes later in the
   grammar (ultimately: the one that ended) is the older one.

   apk-tools orders invalid versions too, by the same walk, up to the first
   token that does not fit the grammar (its test data has "1.0 < 1.0bc" and
   "23_foo > 4_beta", whose comments still say "do string sort", from an
   older apk).  version_apk_order reproduces that, so the unit test checks
   every line of apk's data; version_compare refuses invalid versions
   (version_apk_check) because a package database never holds one and the
   order apk gives them is an accident of where the parse stopped.

   One deliberate difference: apk reads numbers into a uint64_t, which wraps
   past 20 digits; patchgate compares digit strings by length after
   stripping leading zeros, which is exact for any length.  */

#include "base/util.h"

#include <stdbool.h>
#include <string.h>

int version_apk_check (const char *v, char *why, size_t why_size);
int version_apk_order (const char *a, const char *b);

/* The order matters: it is the grammar's order, which the end of
   version_apk_order relies on.  */
enum apk_token
{
  TOK_INITIAL_DIGIT,
  TOK_DIGIT,
  TOK_LETTER,
  TOK_SUFFIX,
  TOK_SUFFIX_NO,
  TOK_COMMIT_HASH,
  TOK_REVISION_NO,
  TOK_END,
  TOK_INVALID,
};

/* Pre-release suffixes rank below SUFFIX_NONE, post-release ones above.  */
enum apk_suffix
{
  SUFFIX_INVALID,
  SUFFIX_ALPHA,
  SUFFIX_BETA,
  SUFFIX_PRE,
  SUFFIX_RC,
  SUFFIX_NONE,
  SUFFIX_CVS,
  SUFFIX_SVN,
  SUFFIX_GIT,
  SUFFIX_HG,
  SUFFIX_P,
};

static const char *const suffix_names[] = {
  [SUFFIX_ALPHA] = "alpha", [SUFFIX_BETA] = "beta", [SUFFIX_PRE] = "pre",
  [SUFFIX_RC] = "rc",       [SUFFIX_CVS] = "cvs",   [SUFFIX_SVN] = "svn",
  [SUFFIX_GIT] = "git",     [SUFFIX_HG] = "hg",     [SUFFIX_P] = "p",
};

struct apk_cursor
{
  const char *p;
  enum apk_token token;
  enum apk_suffix suffix;
  const char *value; /* the token's text: digits, letter, suffix name, hash */
  size_t len;
};

static bool
is_digit (int c)
{
  return c >= '0' && c <= '9';
}

static bool
is_lower (int c)
{
  return c >= 'a' && c <= 'z';
}

static bool
is_hex (int c)
{
  return is_digit (c) || (c >= 'a' && c <= 'f');
}

static size_t
span (const char *p, bool (*accept) (int))
{
  size_t n = 0;

  while (p[n] && accept ((unsigned char) p[n]))
    n++;
  return n;
}

static enum apk_suffix
suffix_lookup (const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < sizeof (suffix_names) / sizeof (suffix_names[0]); i++)
    if (suffix_names[i] && strlen (suffix_names[i]) == len && memcmp (suffix_names[i], s, len) == 0)
      return (enum apk_suffix) i;
  return SUFFIX_INVALID;
}

/* Take a run of digits as the current token's value; none is invalid.  */
static void
take_digits (struct apk_cursor *c, enum apk_token token)
{
  c->value = c->p;
  c->len = span (c->p, is_digit);
  c->p += c->len;
  c->token = c->len ? token : TOK_INVALID;
}

static void
token_first (struct apk_cursor *c, const char *v)
{
  c->p = v;
  c->suffix = SUFFIX_INVALID;
  take_digits (c, TOK_INITIAL_DIGIT);
}

/* Advance to the next token.  What may come next depends on the current
   token: a letter or a dot only after a number, a suffix before any hash or
   revision, a hash before the revision, the revision last.  */
static void
token_next (struct apk_cursor *c)
{
  enum apk_token prev = c->token;
  char ch = *c->p;

  if (ch == '\0')
    {
      c->token = TOK_END;
      return;
    }

  if (is_lower (ch) && prev <= TOK_DIGIT)
    {
      c->value = c->p++;
      c->len = 1;
      c->token = TOK_LETTER;
    }
  else if (ch == '.' && prev <= TOK_DIGIT)
    {
      c->p++;
      take_digits (c, TOK_DIGIT);
    }
  else if (is_digit (ch) && prev == TOK_SUFFIX)
    take_digits (c, TOK_SUFFIX_NO);
  else if (ch == '_' && prev <= TOK_SUFFIX_NO)
    {
      c->value = ++c->p;
      c->len = span (c->p, is_lower);
      c->p += c->len;
      c->suffix = suffix_lookup (c->value, c->len);
      c->token = c->suffix == SUFFIX_INVALID ? TOK_INVALID : TOK_SUFFIX;
    }
  else if (ch == '~' && prev < TOK_COMMIT_HASH)
    {
      c->value = ++c->p;
      c->len = span (c->p, is_hex);
      c->p += c->len;
      c->token = c->len ? TOK_COMMIT_HASH : TOK_INVALID;
    }
  else if (ch == '-' && c->p[1] == 'r' && prev < TOK_REVISION_NO)
    {
      c->p += 2;
      take_digits (c, TOK_REVISION_NO);
    }
  else
    c->token = TOK_INVALID;
}

static int
compare_strings (const char *a, size_t alen, const char *b, size_t blen)
{
  int r = memcmp (a, b, alen < blen ? alen : blen);

  if (r)
    return r < 0 ? -1 : 1;
  if (alen != blen)
    return alen < blen ? -1 : 1;
  return 0;
}

/* Exact numeric order of two digit strings of any length.  */
static int
compare_numbers (const char *a, size_t alen, const char *b, size_t blen)
{
  while (alen && *a == '0')
    a++, alen--;
  while (blen && *b == '0')
    b++, blen--;
  if (alen != blen)
    return alen < blen ? -1 : 1;
  return compare_strings (a, alen, b, blen);
}

/* Compare two tokens of the same kind.  */
static int
token_compare (const struct apk_cursor *a, const struct apk_cursor *b)
{
  switch (a->token)
    {
    case TOK_DIGIT:
      /* "1.05" vs "1.4": Gentoo compares a component with a leading zero as
         a string, so 1.05 < 1.4.  */
      if (a->value[0] == '0' || b->value[0] == '0')
        return compare_strings (a->value, a->len, b->value, b->len);
      return compare_numbers (a->value, a->len, b->value, b->len);
    case TOK_INITIAL_DIGIT:
    case TOK_SUFFIX_NO:
    case TOK_REVISION_NO:
      return compare_numbers (a->value, a->len, b->value, b->len);
    case TOK_LETTER:
      return a->value[0] == b->value[0] ? 0 : (a->value[0] < b->value[0] ? -1 : 1);
    case TOK_SUFFIX:
      return a->suffix == b->suffix ? 0 : (a->suffix < b->suffix ? -1 : 1);
    default:
      return compare_strings (a->value, a->len, b->value, b->len);
    }
}

int
version_apk_check (const char *v, char *why, size_t why_size)
{
  struct apk_cursor c;
  const char *at = v;

  for (token_first (&c, v); c.token < TOK_END; token_next (&c))
    at = c.p;
  if (c.token == TOK_END)
    return 0;

  if (why && why_size)
    {
      size_t off = (size_t) (at - v);
      unsigned char ch = (unsigned char) *at;

      if (*v == '\0')
        snprintf (why, why_size, "version string is empty");
      else if (ch == '_')
        snprintf (why, why_size,
                  "unknown or misplaced suffix at offset %zu (suffixes are _alpha _beta _pre _rc _cvs _svn "
                  "_git _hg _p, before any ~hash or -rN)",
                  off);
      else if (ch == '\0')
        snprintf (why, why_size, "unexpected end after offset %zu", off);
      else if (ch > 0x20 && ch < 0x7f)
        snprintf (why, why_size,
                  "unexpected '%c' at offset %zu (apk versions are "
                  "digit{.digit}...{letter}{_suffix{N}}...{~hash}{-rN})",
                  ch, off);
      else
        snprintf (why, why_size, "unexpected byte 0x%02x at offset %zu", ch, off);
    }
  return -1;
}

/* apk-tools' order; defined for invalid versions as well, see above.  */
int
version_apk_order (const char *a, const char *b)
{
  struct apk_cursor ta, tb;
  int r;

  token_first (&ta, a);
  token_first (&tb, b);
  while (ta.token == tb.token && ta.token < TOK_END)
    {
      r = token_compare (&ta, &tb);
      if (r)
        return r;
      token_next (&ta);
      token_next (&tb);
    }

  if (ta.token == tb.token)
    return 0;
  /* Equal so far: a pre-release suffix makes its side older; otherwise the
     side that went on with a token of an earlier kind is newer (a version
     that ended is older than one that goes on with, say, a revision).  */
  if (ta.token == TOK_SUFFIX && ta.suffix < SUFFIX_NONE)
    return -1;
  if (tb.token == TOK_SUFFIX && tb.suffix < SUFFIX_NONE)
    return 1;
  return ta.token > tb.token ? -1 : 1;
}
