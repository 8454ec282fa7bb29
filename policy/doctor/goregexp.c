/* The error cases of Go's regexp/syntax.Parse(pattern, syntax.Perl), which
 * regexp.Compile uses, followed branch by branch (doctor/goregexp.h).  Only
 * validity is computed: an operand stack of "weights" stands for the
 * parser's stack of nodes, enough to know whether a repetition has
 * something to repeat and how large nested {n,m} counts grow.  */
#include "doctor/goregexp.h"

#include <string.h>

#define MAX_REPEAT 1000
#define MAX_DEPTH 1000

enum slot
{
  SLOT_OPERAND,
  SLOT_PAREN, /* an opening parenthesis, capturing or not */
  SLOT_BAR,   /* an alternation's | */
};

struct parser
{
  const char *whole;
  const char *t; /* what is left to parse */
  enum slot *kind;
  int *need; /* per slot: the smallest n repeatIsValid(sub, n) accepts */
  size_t n, cap;
  char *why;
};

static int
fail (struct parser *p, const char *code, const char *from, size_t len)
{
  xasprintf (&p->why, "%s: `%.*s`", code, (int) len, from);
  return -1;
}

static void
push (struct parser *p, enum slot k, int need)
{
  if (p->n == p->cap)
    {
      p->cap = p->cap ? p->cap * 2 : 16;
      p->kind = xrealloc (p->kind, p->cap * sizeof (*p->kind));
      p->need = xrealloc (p->need, p->cap * sizeof (*p->need));
    }
  p->kind[p->n] = k;
  p->need[p->n] = need;
  p->n++;
}

/* Decode one UTF-8 rune at S (Go's utf8.DecodeRuneInString: shortest
   form, no surrogates, at most U+10FFFF).  Returns its length, 0 at the
   end, -1 when invalid.  */
static int
next_rune (const char *s, long *r)
{
  const unsigned char *u = (const unsigned char *) s;
  int len;
  long v;

  if (u[0] == 0)
    return 0;
  if (u[0] < 0x80)
    {
      *r = u[0];
      return 1;
    }
  if (u[0] >= 0xc2 && u[0] <= 0xdf)
    len = 2, v = u[0] & 0x1f;
  else if (u[0] >= 0xe0 && u[0] <= 0xef)
    len = 3, v = u[0] & 0x0f;
  else if (u[0] >= 0xf0 && u[0] <= 0xf4)
    len = 4, v = u[0] & 0x07;
  else
    return -1;
  for (int i = 1; i < len; i++)
    {
      if ((u[i] & 0xc0) != 0x80)
        return -1;
      v = (v << 6) | (u[i] & 0x3f);
    }
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff))
    return -1;
  *r = v;
  return len;
}

static bool
is_alnum (long c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
unhex (long c)
{
  if (c >= '0' && c <= '9')
    return (int) (c - '0');
  if (c >= 'a' && c <= 'f')
    return (int) (c - 'a' + 10);
  if (c >= 'A' && c <= 'F')
    return (int) (c - 'A' + 10);
  return -1;
}

/* parseEscape: S is at a backslash.  On success *R is the rune and the
   length consumed is returned.  */
static int
parse_escape (struct parser *p, const char *s, long *r)
{
  const char *t = s + 1;
  long c;
  int l;

  if (*t == '\0')
    return fail (p, "trailing backslash at end of expression", "", 0);
  l = next_rune (t, &c);
  if (l < 0)
    return fail (p, "invalid UTF-8", t, strlen (t));
  t += l;
  switch (c)
    {
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
      /* A single non-zero digit is a backreference: not supported.  */
      if (*t < '0' || *t > '7')
        break;
      /* fallthrough */
    case '0':
      *r = c - '0';
      for (int i = 1; i < 3 && *t >= '0' && *t <= '7'; i++, t++)
        *r = *r * 8 + (*t - '0');
      return (int) (t - s);
    case 'x':
      {
        long x, y;
        if (*t == '\0')
          break;
        l = next_rune (t, &c);
        if (l < 0)
          return fail (p, "invalid UTF-8", t, strlen (t));
        t += l;
        if (c == '{')
          {
            int nhex = 0;
            *r = 0;
            for (;;)
              {
                if (*t == '\0')
                  goto bad;
                l = next_rune (t, &c);
                if (l < 0)
                  return fail (p, "invalid UTF-8", t, strlen (t));
                t += l;
                if (c == '}')
                  break;
                if (unhex (c) < 0)
                  goto bad;
                *r = *r * 16 + unhex (c);
                if (*r > 0x10ffff)
                  goto bad;
                nhex++;
              }
            if (nhex == 0)
              goto bad;
            return (int) (t - s);
          }
        x = unhex (c);
        l = next_rune (t, &c);
        if (l < 0)
          return fail (p, "invalid UTF-8", t, strlen (t));
        t += l;
        y = l == 0 ? -1 : unhex (c);
        if (x < 0 || y < 0)
          break;
        *r = x * 16 + y;
        return (int) (t - s);
      }
    case 'a':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
      *r = c;
      return (int) (t - s);
    default:
      if (c < 0x80 && !is_alnum (c))
        {
          *r = c;
          return (int) (t - s);
        }
      break;
    }
bad:
  return fail (p, "invalid escape sequence", s, (size_t) (t - s));
}

static bool
known_category (const char *name, size_t len)
{
  static const char *const names[]
      = { "Any", "C",  "Cc", "Cf", "Co", "Cs", "L",  "Ll", "Lm", "Lo", "Lt", "Lu", "M",
          "Mc",  "Me", "Mn", "N",  "Nd", "Nl", "No", "P",  "Pc", "Pd", "Pe", "Pf", "Pi",
          "Po",  "Ps", "S",  "Sc", "Sk", "Sm", "So", "Z",  "Zl", "Zp", "Zs" };
  for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (strlen (names[i]) == len && strncmp (names[i], name, len) == 0)
      return true;
  /* A script (Latin, Old_Italic, ...): see doctor/goregexp.h.  */
  if (len < 2 || !(name[0] >= 'A' && name[0] <= 'Z'))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_'))
      return false;
  return true;
}

/* parseUnicodeClass: 0 when S is not \p or \P, the length when it is a
   valid one, -1 on error.  */
static int
parse_unicode_class (struct parser *p, const char *s)
{
  const char *t, *name, *end;
  long c;
  int l;

  if (s[0] != '\\' || (s[1] != 'p' && s[1] != 'P'))
    return 0;
  t = s + 2;
  l = next_rune (t, &c);
  if (l < 0)
    return fail (p, "invalid UTF-8", t, strlen (t));
  if (c != '{')
    {
      /* A single-letter name (at the end: an empty one).  */
      name = t;
      end = t + l;
      t = end;
    }
  else
    {
      const char *close = strchr (s, '}');
      if (close == NULL)
        return fail (p, "invalid character class range", s, strlen (s));
      name = s + 3;
      end = close;
      t = close + 1;
    }
  if (end > name && *name == '^')
    name++;
  if (!known_category (name, (size_t) (end - name)))
    return fail (p, "invalid character class range", s, (size_t) (t - s));
  return (int) (t - s);
}

static int
parse_perl_class (const char *s)
{
  if (s[0] == '\\' && s[1] && strchr ("dDsSwW", s[1]))
    return 2;
  return 0;
}

/* parseNamedClass: 0 when S is not [:...:], the length when it is a known
   one, -1 on an unknown name.  */
static int
parse_named_class (struct parser *p, const char *s)
{
  static const char *const names[] = { "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
                                       "lower", "print", "punct", "space", "upper", "word",  "xdigit" };
  const char *end = strstr (s + 2, ":]");
  const char *name = s + 2;
  size_t len;

  if (end == NULL)
    return 0;
  if (*name == '^')
    name++;
  len = (size_t) (end - name);
  for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (strlen (names[i]) == len && strncmp (names[i], name, len) == 0)
      return (int) (end + 2 - s);
  return fail (p, "invalid character class range", s, (size_t) (end + 2 - s));
}

static int
class_char (struct parser *p, const char *s, const char *whole, long *r)
{
  int l;
  if (*s == '\0')
    return fail (p, "missing closing ]", whole, strlen (whole));
  if (*s == '\\')
    return parse_escape (p, s, r);
  l = next_rune (s, r);
  if (l < 0)
    return fail (p, "invalid UTF-8", s, strlen (s));
  return l;
}

/* parseClass: S is at '['.  Returns the length.  */
static int
parse_class (struct parser *p, const char *s)
{
  const char *t = s + 1;
  bool first = true;

  if (*t == '^')
    t++;
  while (*t == '\0' || *t != ']' || first)
    {
      const char *rng = t;
      long lo, hi;
      int l;

      first = false;
      if (t[0] == '[' && t[1] == ':' && t[2] != '\0')
        {
          l = parse_named_class (p, t);
          if (l < 0)
            return -1;
          if (l > 0)
            {
              t += l;
              continue;
            }
        }
      l = parse_unicode_class (p, t);
      if (l < 0)
        return -1;
      if (l > 0)
        {
          t += l;
          continue;
        }
      l = parse_perl_class (t);
      if (l > 0)
        {
          t += l;
          continue;
        }
      l = class_char (p, t, s, &lo);
      if (l < 0)
        return -1;
      t += l;
      hi = lo;
      if (t[0] == '-' && t[1] != '\0' && t[1] != ']')
        {
          t++;
          l = class_char (p, t, s, &hi);
          if (l < 0)
            return -1;
          t += l;
          if (hi < lo)
            return fail (p, "invalid character class range", rng, (size_t) (t - rng));
        }
    }
  return (int) (t + 1 - s);
}

/* {n}, {n,}, {n,m}: returns the length, or 0 when it is not one (then `{`
   is a literal).  MAX -1 is {n,}.  */
static int
parse_repeat (const char *s, int *min, int *max)
{
  const char *t = s + 1;
  int *out[2] = { min, max };

  *max = -2; /* none given */
  for (int k = 0; k < 2; k++)
    {
      const char *d = t;
      long v = 0;
      if (!(*t >= '0' && *t <= '9'))
        {
          if (k == 1 && *t == '}')
            {
              *max = -1; /* {n,} */
              return (int) (t + 1 - s);
            }
          return 0;
        }
      if (t[0] == '0' && t[1] >= '0' && t[1] <= '9')
        return 0; /* Go disallows leading zeros */
      while (*t >= '0' && *t <= '9')
        {
          if (v <= 100000000)
            v = v * 10 + (*t - '0');
          t++;
        }
      /* Too many digits: beyond any valid count.  */
      *out[k] = (t - d > 8 || v > 100000000) ? MAX_REPEAT + 1 : (int) v;
      if (k == 0)
        {
          if (*t == '}')
            {
              *max = *min;
              return (int) (t + 1 - s);
            }
          if (*t != ',')
            return 0;
          t++;
        }
      else if (*t != '}')
        return 0;
      else
        return (int) (t + 1 - s);
    }
  return 0;
}

/* p.repeat: BEFORE is where the operator starts, LEN its length (with a
   non-greedy `?`).  */
static int
repeat (struct parser *p, bool counted, int min, int max, const char *before, size_t len,
        bool last_was_repeat, const char *last_repeat)
{
  if (last_was_repeat)
    return fail (p, "invalid nested repetition operator", last_repeat, (size_t) (before + len - last_repeat));
  if (p->n == 0 || p->kind[p->n - 1] != SLOT_OPERAND)
    return fail (p, "missing argument to repetition operator", before, len);
  if (counted)
    {
      int m = max == -1 ? min : max;
      int sub = p->need[p->n - 1];
      long need = m == 0 ? 0 : (long) m * (sub > 1 ? sub : 1);
      if (need > MAX_REPEAT && (min >= 2 || max >= 2))
        return fail (p, "invalid repeat count", before, len);
      p->need[p->n - 1] = (int) need;
    }
  return 0;
}

/* Collapse the slots above the innermost parenthesis (or the bottom) into
   one operand: concatenation and alternation take the largest need.  */
static void
collapse (struct parser *p)
{
  int need = 0;
  size_t i = p->n;
  while (i > 0 && p->kind[i - 1] != SLOT_PAREN)
    {
      if (p->need[i - 1] > need)
        need = p->need[i - 1];
      i--;
    }
  p->n = i;
  push (p, SLOT_OPERAND, need);
}

static size_t
depth (struct parser *p)
{
  size_t d = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->kind[i] == SLOT_PAREN)
      d++;
  return d;
}

/* parsePerlFlags: T is at "(?".  Returns the length consumed.  */
static int
perl_flags (struct parser *p, const char *t)
{
  const char *s = t;
  bool neg = false, saw = false;

  /* Named groups: (?P<name>re).  Go 1.22 also takes (?<name>re); the Go
     that Debian 12's podman is built with (1.19) does not.  */
  if (strlen (t) > 4 && t[2] == 'P' && t[3] == '<')
    {
      const char *begin = t + 4;
      const char *end = strchr (t, '>');
      if (end == NULL)
        return fail (p, "invalid named capture", t, strlen (t));
      if (end == begin)
        return fail (p, "invalid named capture", t, (size_t) (end + 1 - t));
      for (const char *c = begin; c < end; c++)
        if (!is_alnum ((unsigned char) *c) && *c != '_')
          return fail (p, "invalid named capture", t, (size_t) (end + 1 - t));
      push (p, SLOT_PAREN, 0);
      return (int) (end + 1 - t);
    }
  t += 2;
  for (;;)
    {
      long c;
      int l = next_rune (t, &c);
      if (l < 0)
        return fail (p, "invalid UTF-8", t, strlen (t));
      if (l == 0)
        break;
      t += l;
      if (c == 'i' || c == 'm' || c == 's' || c == 'U')
        saw = true;
      else if (c == '-')
        {
          if (neg)
            break;
          neg = true;
          saw = false;
        }
      else if (c == ':' || c == ')')
        {
          if (neg && !saw)
            break;
          if (c == ':')
            push (p, SLOT_PAREN, 0);
          return (int) (t - s);
        }
      else
        break;
    }
  return fail (p, "invalid or unsupported Perl syntax", s, (size_t) (t - s));
}

static int
parse (struct parser *p)
{
  bool last_was_repeat = false;
  const char *last_repeat = NULL;

  for (const char *c = p->whole; *c;)
    {
      long r;
      int l = next_rune (c, &r);
      if (l < 0)
        return fail (p, "invalid UTF-8", c, strlen (c));
      c += l;
    }
  while (*p->t)
    {
      const char *t = p->t;
      bool this_repeat = false;
      int l;

      switch (*t)
        {
        case '(':
          if (depth (p) >= MAX_DEPTH)
            return fail (p, "expression nests too deeply", p->whole, strlen (p->whole));
          if (t[1] == '?')
            {
              l = perl_flags (p, t);
              if (l < 0)
                return -1;
              p->t += l;
              break;
            }
          push (p, SLOT_PAREN, 0);
          p->t++;
          break;
        case '|':
          collapse (p);
          push (p, SLOT_BAR, 0);
          p->t++;
          break;
        case ')':
          {
            /* The operands since the last ( become one: the group.  */
            int need = 0;
            size_t i = p->n;
            while (i > 0 && p->kind[i - 1] != SLOT_PAREN)
              {
                if (p->need[i - 1] > need)
                  need = p->need[i - 1];
                i--;
              }
            if (i == 0)
              return fail (p, "unexpected )", p->whole, strlen (p->whole));
            p->n = i - 1;
            push (p, SLOT_OPERAND, need);
            p->t++;
            break;
          }
        case '^':
        case '$':
        case '.':
          push (p, SLOT_OPERAND, 0);
          p->t++;
          break;
        case '[':
          l = parse_class (p, t);
          if (l < 0)
            return -1;
          push (p, SLOT_OPERAND, 0);
          p->t += l;
          break;
        case '*':
        case '+':
        case '?':
          l = 1 + (t[1] == '?');
          if (repeat (p, false, 0, 0, t, (size_t) l, last_was_repeat, last_repeat) < 0)
            return -1;
          this_repeat = true;
          p->t += l;
          break;
        case '{':
          {
            int min, max;
            l = parse_repeat (t, &min, &max);
            if (l == 0)
              {
                push (p, SLOT_OPERAND, 0);
                p->t++;
                break;
              }
            if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max))
              return fail (p, "invalid repeat count", t, (size_t) l);
            if (t[l] == '?')
              l++;
            if (repeat (p, true, min, max, t, (size_t) l, last_was_repeat, last_repeat) < 0)
              return -1;
            this_repeat = true;
            p->t += l;
            break;
          }
        case '\\':
          if (t[1] == 'A' || t[1] == 'b' || t[1] == 'B' || t[1] == 'z')
            {
              push (p, SLOT_OPERAND, 0);
              p->t += 2;
              break;
            }
          if (t[1] == 'C')
            return fail (p, "invalid escape sequence", t, 2);
          if (t[1] == 'Q')
            {
              const char *e = strstr (t + 2, "\\E");
              const char *lit_end = e ? e : t + strlen (t);
              if (lit_end > t + 2)
                push (p, SLOT_OPERAND, 0);
              p->t = e ? e + 2 : lit_end;
              break;
            }
          l = parse_unicode_class (p, t);
          if (l < 0)
            return -1;
          if (l == 0)
            l = parse_perl_class (t);
          if (l == 0)
            {
              long rr;
              l = parse_escape (p, t, &rr);
              if (l < 0)
                return -1;
            }
          push (p, SLOT_OPERAND, 0);
          p->t += l;
          break;
        default:
          {
            long rr;
            l = next_rune (t, &rr);
            push (p, SLOT_OPERAND, 0);
            p->t += l;
            break;
          }
        }
      last_was_repeat = this_repeat;
      if (this_repeat)
        last_repeat = t;
    }
  collapse (p);
  if (p->n != 1)
    return fail (p, "missing closing )", p->whole, strlen (p->whole));
  return 0;
}

int
pg_go_regexp_check (const char *pattern, char **why)
{
  struct parser p = { .whole = pattern, .t = pattern };
  int r = parse (&p);

  free (p.kind);
  free (p.need);
  if (r < 0)
    {
      *why = p.why;
      return -1;
    }
  *why = NULL;
  return 0;
}
