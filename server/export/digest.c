/*
 * digest.c - the Markdown meeting digest of one chapter's discussion: the
 * plan's prompt, then the threads with the most activity (replies plus
 * reactions) first, each with its quoted passage, its body, its reactions
 * and its replies in order.
 *
 * The digest is a document people print or paste into meeting notes, so it
 * is stricter than the live view: private annotations never appear (not
 * even the caller's own), and a hidden or deleted body is replaced by a
 * placeholder for everyone, moderators included. Bodies are the authors'
 * Markdown, quoted ("> ") so that a heading in a body cannot break the
 * digest's own structure, with '<' written as "&lt;" so that a renderer
 * that allows raw HTML still shows text. Names and quotes are escaped as
 * inline text.
 */
#include "export/export.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jsonx.h"
#include "util/mdtext.h"
#include "util/utf8.h"

/* Longest passage quoted in a thread's heading, in code points. */
#define DIGEST_HEADING_CP 120

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "@handle": handles are a-z 0-9 _ (SPEC §5), written as they are (an
 * underscore inside a word is not emphasis); anything else is dropped. */
static void md_handle(struct buf *out, const char *handle)
{
	buf_addch(out, '@');
	for (const char *p = handle; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_')
			buf_addch(out, *p);
}

/* "Display Name (@handle)" of an author object. */
static void md_author(struct buf *out, const json_t *author)
{
	const char *name = str_of(author, "display_name");
	const char *handle = str_of(author, "handle");

	buf_adds(out, "**");
	mdtext_inline(out, name && *name ? name : (handle ? handle : "someone"),
		      0);
	buf_adds(out, "**");
	if (handle) {
		buf_adds(out, " (");
		md_handle(out, handle);
		buf_addch(out, ')');
	}
}

/* The body, or the placeholder when it is withheld or gone. */
static void md_body(struct buf *out, const json_t *post, const char *indent)
{
	const char *body = str_of(post, "body");

	const char *placeholder = NULL;

	if (json_is_true(json_object_get(post, "deleted")))
		placeholder = "> *(deleted)*\n";
	else if (json_is_true(json_object_get(post, "hidden")) || !body)
		placeholder = "> *(hidden by a moderator)*\n";
	if (placeholder) {
		buf_adds(out, indent);
		buf_adds(out, placeholder);
		return;
	}
	mdtext_quote(out, body, indent);
}

/* " · agree 2, insightful 1" */
static void md_reactions(struct buf *out, const json_t *post)
{
	static const char *const kinds[] = {"agree", "insightful", "question",
					    "disagree", NULL};
	json_t *r = json_object_get(post, "reactions");
	bool first = true;

	for (int i = 0; kinds[i]; i++) {
		json_int_t n = json_integer_value(json_object_get(r, kinds[i]));

		if (n <= 0)
			continue;
		buf_adds(out, first ? " · " : ", ");
		buf_addf(out, "%s %lld", kinds[i], (long long)n);
		first = false;
	}
}

/* The exact quote of a target, or NULL for a chapter-level thread. */
static const char *quote_of(const json_t *ann)
{
	json_t *sel =
		json_object_get(json_object_get(ann, "target"), "selector");
	size_t i;
	json_t *s;

	json_array_foreach(sel, i, s)
	{
		const char *t = str_of(s, "type");

		if (t && !strcmp(t, "TextQuoteSelector"))
			return str_of(s, "exact");
	}
	return NULL;
}

/* The author handle of the reply with id, among replies. */
static const char *reply_handle(const json_t *replies, json_int_t id)
{
	size_t i;
	json_t *r;

	json_array_foreach(
		replies, i,
		r) if (json_integer_value(json_object_get(r, "id")) ==
		       id) return str_of(json_object_get(r, "author"),
					 "handle");
	return NULL;
}

static void md_replies(struct buf *out, const json_t *ann)
{
	json_t *replies = json_object_get(ann, "replies");
	size_t i;
	json_t *r;

	if (!json_array_size(replies))
		return;
	buf_adds(out, "\nReplies:\n\n");
	json_array_foreach(replies, i, r)
	{
		json_int_t parent =
			json_integer_value(json_object_get(r, "parent"));
		const char *to = parent ? reply_handle(replies, parent) : NULL;
		const char *at = str_of(r, "created_at");

		buf_adds(out, "- ");
		md_author(out, json_object_get(r, "author"));
		if (to) {
			buf_adds(out, " answering ");
			md_handle(out, to);
		}
		if (at)
			buf_addf(out, " · %s", at);
		md_reactions(out, r);
		buf_adds(out, "\n\n");
		md_body(out, r, "  ");
		buf_addch(out, '\n');
	}
}

/* One thread to order: its activity and its place in reading order. */
struct digest_thread {
	const json_t *ann;
	json_int_t activity;
	size_t order;
};

static int thread_cmp(const void *a, const void *b)
{
	const struct digest_thread *x = a, *y = b;

	if (x->activity != y->activity)
		return x->activity > y->activity ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

void export_digest_chapter(struct buf *out, const char *title,
			   const char *prompt, const char *due,
			   json_t *annotations)
{
	size_t n = 0, i;
	struct digest_thread *t;
	json_t *a;

	t = xcalloc(json_array_size(annotations) + 1, sizeof(*t));
	json_array_foreach(annotations, i, a)
	{
		const char *vis = str_of(a, "visibility");

		if (vis && strcmp(vis, "circle"))
			continue; /* private: never in a digest */
		t[n].ann = a;
		t[n].activity =
			json_integer_value(json_object_get(a, "reply_count")) +
			jsonx_sum(json_object_get(a, "reactions"));
		t[n].order = i;
		n++;
	}
	qsort(t, n, sizeof(*t), thread_cmp);

	buf_adds(out, "## ");
	mdtext_inline(out, title ? title : "Chapter", 0);
	buf_adds(out, "\n\n");
	if (due && *due) {
		buf_adds(out, "Due: ");
		mdtext_inline(out, due, 0);
		buf_adds(out, "\n\n");
	}
	if (prompt && *prompt) {
		buf_adds(out, "**Prompt:**\n\n");
		mdtext_quote(out, prompt, "");
		buf_addch(out, '\n');
	}
	if (!n)
		buf_adds(out, "No threads yet.\n\n");
	else
		buf_addf(out, "%zu thread%s, most active first.\n\n", n,
			 n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		const json_t *ann = t[i].ann;
		const char *quote = quote_of(ann);
		const char *at = str_of(ann, "created_at");
		json_int_t replies =
			json_integer_value(json_object_get(ann, "reply_count"));

		buf_addf(out, "### %zu. ", i + 1);
		if (quote) {
			buf_adds(out, "“");
			mdtext_inline(out, quote, DIGEST_HEADING_CP);
			buf_adds(out, "”");
		} else {
			buf_adds(out, "On the whole chapter");
		}
		buf_adds(out, "\n\n");
		if (quote &&
		    utf8_count(quote, strlen(quote)) > DIGEST_HEADING_CP) {
			mdtext_quote(out, quote, "");
			buf_addch(out, '\n');
		}
		md_author(out, json_object_get(ann, "author"));
		if (at)
			buf_addf(out, " · %s", at);
		buf_addf(out, " · %lld repl%s", (long long)replies,
			 replies == 1 ? "y" : "ies");
		md_reactions(out, ann);
		if (json_is_true(json_object_get(ann, "pinned")))
			buf_adds(out, " · pinned");
		if (json_is_true(json_object_get(ann, "locked")))
			buf_adds(out, " · locked");
		buf_adds(out, "\n\n");
		md_body(out, ann, "");
		md_replies(out, ann);
		buf_addch(out, '\n');
	}
	free(t);
}
