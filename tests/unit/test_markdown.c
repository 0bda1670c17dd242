/*
 * test_markdown.c - threads_render_markdown() must produce safe HTML from
 * any body: only a fixed set of tags, no attributes but a checked href (and
 * rel, and ol start), only http/https/mailto links, raw HTML shown as text,
 * images never as <img>. Besides the named hostile cases, a deterministic
 * random walk over Markdown-significant characters checks the same
 * invariants on thousands of generated bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "threads/threads.h"

static char *render(const char *s)
{
	char *h = threads_render_markdown(s, strlen(s));

	assert_non_null(h);
	return h;
}

static const char *const allowed_tags[] = {
	"p",	 "em",	       "strong", "a",  "code", "pre", "del",
	"u",	 "blockquote", "ul",	 "ol", "li",   "hr",  "h1",
	"h2",	 "h3",	       "h4",	 "h5", "h6",   "br",  "table",
	"thead", "tbody",      "tr",	 "th", "td",   NULL};

/* Checks one attribute value of tag name: returns 1 if allowed. */
static int attr_ok(const char *tag, const char *name, size_t nlen,
		   const char *val, size_t vlen)
{
	if (strcmp(tag, "a") == 0 && nlen == 4 && memcmp(name, "href", 4) == 0)
		return (vlen > 7 && strncasecmp(val, "http://", 7) == 0) ||
		       (vlen > 8 && strncasecmp(val, "https://", 8) == 0) ||
		       (vlen > 7 && strncasecmp(val, "mailto:", 7) == 0);
	if (strcmp(tag, "a") == 0 && nlen == 3 && memcmp(name, "rel", 3) == 0)
		return vlen == strlen("nofollow noopener noreferrer") &&
		       memcmp(val, "nofollow noopener noreferrer", vlen) == 0;
	if (strcmp(tag, "ol") == 0 && nlen == 5 &&
	    memcmp(name, "start", 5) == 0) {
		for (size_t i = 0; i < vlen; i++)
			if (val[i] < '0' || val[i] > '9')
				return 0;
		return 1;
	}
	return 0;
}

/*
 * The safety invariant: every '<' opens an allowed tag whose attributes are
 * allowed and double-quoted with no '<', '>' or '"' inside; every '&' starts
 * an entity; no quote or '>' appears loose inside a tag.
 */
static void assert_safe(const char *html)
{
	const char *s = html;

	while (*s) {
		if (*s == '>') {
			fail_msg("loose '>' in %s", html);
		} else if (*s == '&') {
			const char *e = s + 1;

			while ((*e >= 'a' && *e <= 'z') || *e == '#' ||
			       (*e >= '0' && *e <= '9'))
				e++;
			if (*e != ';' || e == s + 1)
				fail_msg("bare '&' in %s", html);
			s = e + 1;
			continue;
		} else if (*s == '<') {
			char tag[16];
			size_t n = 0;
			int i, ok = 0;

			s++;
			if (*s == '/')
				s++;
			while (((*s >= 'a' && *s <= 'z') ||
				(*s >= '0' && *s <= '9')) &&
			       n < sizeof(tag) - 1)
				tag[n++] = *s++;
			tag[n] = '\0';
			for (i = 0; allowed_tags[i]; i++)
				if (strcmp(tag, allowed_tags[i]) == 0)
					ok = 1;
			if (!ok)
				fail_msg("tag <%s> in %s", tag, html);
			while (*s == ' ') {
				const char *name = ++s, *val;
				size_t nlen, vlen;

				while (*s >= 'a' && *s <= 'z')
					s++;
				nlen = (size_t)(s - name);
				if (s[0] != '=' || s[1] != '"')
					fail_msg("unquoted attribute in %s",
						 html);
				val = s + 2;
				s = strchr(val, '"');
				if (!s)
					fail_msg("open attribute in %s", html);
				vlen = (size_t)(s - val);
				if (memchr(val, '<', vlen) ||
				    memchr(val, '>', vlen))
					fail_msg("<> in attribute in %s", html);
				if (!attr_ok(tag, name, nlen, val, vlen))
					fail_msg("attribute %.*s=%.*s on <%s>",
						 (int)nlen, name, (int)vlen,
						 val, tag);
				s++;
			}
			if (*s != '>')
				fail_msg("malformed tag <%s in %s", tag, html);
		}
		s++;
	}
}

static void check(const char *md, const char *must, const char *must_not)
{
	char *h = render(md);

	assert_safe(h);
	if (must && !strstr(h, must))
		fail_msg("%s -> %s lacks %s", md, h, must);
	if (must_not && strstr(h, must_not))
		fail_msg("%s -> %s has %s", md, h, must_not);
	free(h);
}

static void test_plain_markdown(void **state)
{
	(void)state;
	check("Hello *world*", "<p>Hello <em>world</em></p>", NULL);
	check("**bold _and em_** ~~gone~~",
	      "<strong>bold <em>and em</em>"
	      "</strong> <del>gone</del>",
	      NULL);
	check("> quoted\n\n- a\n- b\n\n3. x\n4. y", "<blockquote>", NULL);
	check("3. x\n4. y", "<ol start=\"3\">", NULL);
	check("# Title\n\n`a<b`", "<h1>Title</h1>", NULL);
	check("`a<b`", "<code>a&lt;b</code>", NULL);
	check("| a | b |\n|---|---|\n| 1 | 2 |", "<td>1</td>", NULL);
	check("line one  \nline two", "<br>", NULL);
	check("", NULL, "<");
}

static void test_raw_html_is_text(void **state)
{
	(void)state;
	check("<script>alert(1)</script>", "&lt;script&gt;", "<script");
	check("<img src=x onerror=alert(1)>", "&lt;img", "<img");
	check("a <b onclick=\"x()\">b</b>", "&lt;b onclick=&quot;x()&quot;&gt;",
	      "<b ");
	check("<div>\n<iframe src=\"http://e.com\"></iframe>\n</div>",
	      "&lt;iframe", "<iframe");
	check("<!-- comment --> <?php ?> <![CDATA[x]]>", "&lt;!--", "<!");
	check("<a href=\"javascript:alert(1)\">x</a>", NULL, "<a href");
	check("<style>*{}</style>", NULL, "<style");
}

static void test_links(void **state)
{
	(void)state;
	check("[ok](https://example.org/a?b=1&c=2)",
	      "<a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow "
	      "noopener noreferrer\">ok</a>",
	      NULL);
	check("[m](mailto:someone@example.org)", "href=\"mailto:", NULL);
	check("[x](javascript:alert(1))", "<p>x</p>", "href");
	check("[x](JaVaScRiPt:alert(1))", NULL, "href");
	check("[x](java&#115;cript:alert(1))", NULL, "href");
	check("[x](java&#x73;cript&#58;alert(1))", NULL, "href");
	check("[x](&#106;avascript:alert(1))", NULL, "href");
	check("[x](data:text/html;base64,PHNjcmlwdD4=)", NULL, "href");
	check("[x](vbscript:msgbox)", NULL, "href");
	check("[x](<java\nscript:alert(1)>)", NULL, "href");
	check("[x](/relative/path)", NULL, "href");
	check("[x](//evil.example/)", NULL, "href");
	check("[x](https://e.org/\"onmouseover=\"alert(1))", NULL,
	      "\"onmouseover");
	check("[x](https://e.org/'><script>)", NULL, "<script");
	check("[x](http://e.org \"title\")", NULL, "title");
	check("<javascript:alert(1)>", NULL, "href");
	check("<https://example.org/x>", "href=\"https://example.org/x\"",
	      NULL);
	check("see https://example.org/y and www.example.com",
	      "href=\"http://www.example.com\"", NULL);
	check("write to me@example.org", "href=\"mailto:me@example.org\"",
	      NULL);
	/* never an <a> inside an <a> */
	check("[outer [inner](http://a.b)](http://c.d)", NULL, "</a></a>");
	check("[![x](http://a.b/i.png)](http://c.d)", NULL, "</a></a>");
}

static void test_images_never_img(void **state)
{
	(void)state;
	check("![alt text](http://example.org/a.png)",
	      "<a href=\"http://example.org/a.png\" rel=\"nofollow noopener "
	      "noreferrer\">alt text</a>",
	      "<img");
	check("![alt](javascript:alert(1))", "alt", "<img");
	check("[![alt](javascript:x)](http://ok.example)",
	      "href=\"http://ok.example\"", "javascript");
	check("![a ![b](http://x.y/b.png)](http://x.y/a.png)", NULL, "<img");
}

static void test_entities(void **state)
{
	(void)state;
	check("&amp; &lt;b&gt; &quot;", "&amp; &lt;b&gt; &quot;", "<b>");
	check("&#60;script&#62;", "&lt;script&gt;", "<script");
	check("&#x3C;img&#x3E;", "&lt;img&gt;", "<img");
	check("&#0; &#xD800; &#x110000;", "\xEF\xBF\xBD", NULL);
	check("&copy; &mdash;", "\xC2\xA9 \xE2\x80\x94", NULL);
	check("AT&T & more", "AT&amp;T &amp; more", NULL);
	check("&notanentity;", NULL, NULL);
}

static void test_nesting(void **state)
{
	char *md = malloc(20001), *h;
	size_t i;

	(void)state;
	/* deep emphasis, quotes and lists must not crash or break tags */
	for (i = 0; i < 20000; i++)
		md[i] = "*_>-"[i % 4];
	md[20000] = '\0';
	h = render(md);
	assert_safe(h);
	free(h);
	memset(md, '>', 5000);
	md[5000] = '\0';
	h = render(md);
	assert_safe(h);
	free(h);
	for (i = 0; i < 6000; i += 3)
		memcpy(md + i, "[a]", 3);
	md[6000] = '\0';
	h = render(md);
	assert_safe(h);
	free(h);
	free(md);
	check("***a** b* _c **d _e_ f** g_", "<em>", NULL);
}

/* A small deterministic generator of hostile bodies. */
static void test_random_bodies(void **state)
{
	static const char *const pieces[] = {"<",
					     ">",
					     "\"",
					     "'",
					     "&",
					     "&#",
					     "x;",
					     "javascript:",
					     "http://",
					     "https://e.org",
					     "mailto:",
					     "[",
					     "]",
					     "(",
					     ")",
					     "!",
					     "*",
					     "_",
					     "~",
					     "`",
					     "\n",
					     "\n\n",
					     " ",
					     "www.",
					     "@",
					     "a",
					     "<script>",
					     "onerror=",
					     "|",
					     "---",
					     "#",
					     "> ",
					     "1. ",
					     "- ",
					     "\\",
					     "&lt;",
					     "<img src=x>",
					     "\t",
					     "ja\nvascript:",
					     "%",
					     "=",
					     "\xC3\xA9",
					     "\xE2\x80\xAE",
					     NULL};
	size_t npieces = 0;
	uint32_t seed = 12345;
	char body[512];

	(void)state;
	while (pieces[npieces])
		npieces++;
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = 0;
		int k = (int)(seed % 40) + 1;
		char *h;

		for (int j = 0; j < k; j++) {
			const char *p;

			seed = seed * 1103515245u + 12345u;
			p = pieces[(seed >> 8) % npieces];
			if (len + strlen(p) >= sizeof(body))
				break;
			memcpy(body + len, p, strlen(p));
			len += strlen(p);
		}
		body[len] = '\0';
		h = threads_render_markdown(body, len);
		assert_non_null(h);
		assert_safe(h);
		assert_null(strstr(h, "<img"));
		assert_null(strstr(h, "<script"));
		free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_markdown),
		cmocka_unit_test(test_raw_html_is_text),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_images_never_img),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_random_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
