-- PostgreSQL version of migrations/0015_w3c_links.sql (same version number: migrations/pg/
-- mirrors migrations/ file for file; tests/unit checks it, docs/scaling.md).
-- 0015_w3c_links: what a Web Annotation Protocol client said about an
-- annotation or reply that Scholia itself has no field for. Owned by
-- server/export/ (protocol.c). `canonical` is the IRI the client gave as
-- the annotation's lasting identity (the protocol requires a server to keep
-- it); `via` is the JSON text of the client's `via` (one IRI or an array).
-- kind 0 is annotations(id), 1 replies(id); rows of deleted posts are
-- simply no longer shown.
CREATE TABLE w3c_links (
	kind bigint NOT NULL,
	item bigint NOT NULL,
	canonical text,
	via text,
	PRIMARY KEY (kind, item)
);
