-- 0020_list_index: annotation.list reads a page in the index's order.
-- Owned by server/threads/. The page query (circle, chapter, not gone,
-- pinned first, then by position and id, LIMIT/OFFSET) used
-- annotations_chapter for the filter and sorted every thread of the
-- chapter in a temporary B-tree, reading each row: 15% of a list call on a
-- chapter of 2,000 threads. This index covers the filter and the order,
-- so the page is the first LIMIT + OFFSET entries. It starts with the old
-- index's columns, which it replaces.
CREATE INDEX annotations_page
	ON annotations(circle, chapter, gone, pinned DESC, position, id);
DROP INDEX annotations_chapter;
