/** How the grid reads a project's image list (`images.page`): page sizes shared by the studio and its bench. */

/** The most rows one `images.page` call returns. */
export const MAX_IMAGE_PAGE = 20_000;

/** The rows the grid reads first when it opens a list (a screenful many times over); the rest streams in behind. */
export const FIRST_IMAGE_PAGE = 2_000;
