/**
 * A task's final answer as Markdown, through markdown-it with raw HTML off:
 * any HTML the answer holds is escaped and shown as text. Images are off too
 * (they would load from another origin, which the page's policy refuses
 * anyway), links that are not http(s) or mailto stay text, and links open in
 * a new tab without a referrer or a handle on this page.
 */
import MarkdownIt from "markdown-it";

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });
markdown.disable(["image"]);

const SAFE_LINK = /^(https?:|mailto:)/i;
markdown.validateLink = (url) => SAFE_LINK.test(url.trim());

const renderLinkOpen = markdown.renderer.rules.link_open ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
  const token = tokens[index]!;
  token.attrSet("target", "_blank");
  token.attrSet("rel", "noopener noreferrer nofollow");
  return renderLinkOpen(tokens, index, options, env, self);
};

/** The HTML of `text` rendered as Markdown, every raw HTML tag in it escaped. */
export function renderMarkdown(text: string): string {
  return markdown.render(text);
}
