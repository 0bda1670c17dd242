/*
 * export.h - W3C Web Annotation export and meeting digests: the HTTP
 * endpoints of SPEC §2 and `scholia export`.
 *
 *   GET /api/circles/{id}/annotations[?page=N]   AnnotationCollection / Page
 *   GET /api/circles/{id}/annotations/{aid}      one Annotation
 *   GET /api/circles/{id}/digest.md?chapter=ID   Markdown meeting digest
 *
 * Everything shown goes through threads_each_visible() with the caller's
 * viewer, so the WebSocket API's visibility rule holds here too. The shaping
 * functions below are pure (no database) so unit tests can check them.
 */
#ifndef SCH_EXPORT_H
#define SCH_EXPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;
struct buf;

/* Annotations per AnnotationPage (SPEC §2). */
#define EXPORT_PAGE_SIZE 100
/* The JSON-LD media type of an export. */
#define EXPORT_LD_TYPE                                                         \
	"application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\""
#define EXPORT_ANNO_CONTEXT "http://www.w3.org/ns/anno.jsonld"

/* Registers GET /api/circles/{id}/annotations and .../digest.md, and the
 * Web Annotation Protocol container .../annotations/ (every method). */
void export_init(void);

struct rpc_ctx;
struct http_req;
struct http_resp;
/*
 * The Web Annotation Protocol (protocol.c) for /api/circles/{circle}/
 * annotations/{rest}: rest is "" for the container, "{id}" for a thread,
 * "r{id}" for a reply. Answers every method itself (auth, 401/404 too).
 * Nonzero when a write failed and the transaction must roll back.
 */
int export_protocol(struct rpc_ctx *ctx, const struct http_req *req,
		    struct http_resp *resp, int64_t circle, const char *rest);
/* The circle's name as circle.get gives it to the caller of ctx, or NULL
 * (no such circle, or not visible). Caller frees. */
char *export_circle_name(struct rpc_ctx *ctx, int64_t circle);
/* scholia export --circle ID --format w3c|markdown: circle-visible
 * annotations to out. 0 or negative SCH_E* with err. */
int export_cli(struct store *db, int64_t circle, const char *format,
	       const char *public_url, FILE *out, char *err, size_t errlen);

/*
 * The base of every IRI: public_url without its trailing '/', else
 * http(s)://host (a Host holding anything but a host name, address and port
 * gives "localhost"). Caller frees.
 */
char *export_base_url(const char *public_url, const char *host, bool tls);

/*
 * One SPEC annotation object (as threads_each_visible gives it) as a W3C
 * Annotation: id <base>/api/circles/{circle}/annotations/{id}, a TextualBody
 * with the Markdown source (a text/plain placeholder when the body is
 * withheld), target {source: chapter IRI, selector: [quote, position]} or
 * the chapter IRI for a chapter-level thread, creator, created, modified.
 * with_context adds "@context". NULL for a deleted annotation (tombstones
 * carry nothing to export). New reference.
 */
json_t *export_w3c_annotation(const json_t *ann, const char *base,
			      int64_t circle, bool with_context);

/* The IRI of page n of the collection coll ("?page=n", or "&page=n" when
 * coll has a query already). New reference. */
json_t *export_w3c_page_iri(const char *coll, int64_t page);
/*
 * Page n (1-based) of npages of the collection coll, over items (borrowed:
 * what the page lists, EXPORT_PAGE_SIZE of them from page n's start); a
 * standalone page carries @context and its collection (with label, may be
 * NULL) in partOf. New reference.
 */
json_t *export_w3c_page(json_t *items, const char *coll, const char *label,
			int64_t n, int64_t npages, bool standalone);

/*
 * The collection (page 0) with its first page embedded, or page N >= 1 on
 * its own, over items (W3C annotations, borrowed); page EXPORT_PAGE_ALL is
 * the collection with every item in one embedded page (the command line).
 * label may be NULL. NULL when page is past the last page. New reference.
 */
#define EXPORT_PAGE_ALL (-1)
json_t *export_w3c_collection(json_t *items, const char *base, int64_t circle,
			      const char *label, int64_t page);

/*
 * Appends a chapter's digest section to out: a level-2 heading,
 * the plan's prompt and due date if any, then the threads of
 * annotations (SPEC objects with replies, borrowed) by activity - replies
 * plus reactions - with quotes, replies and reactions. Private annotations
 * and hidden or deleted bodies are never written.
 */

void export_digest_chapter(struct buf *out, const char *title,
			   const char *prompt, const char *due,
			   json_t *annotations);

#endif
