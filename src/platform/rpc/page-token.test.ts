import { describe, expect, it } from "vitest";
import { fetchPage } from "./page-token.js";

describe("fetchPage", () => {
  const rows = ["a", "b", "c", "d", "e"];
  const query = (asked: number[]) => async (count: number) => {
    asked.push(count);
    return rows.slice(0, count);
  };

  it("asks for one row more than the page and gives the next page's token from its last row", async () => {
    const asked: number[] = [];
    const page = await fetchPage(2, query(asked), (last) => `after:${last}`);
    expect(asked).toEqual([3]);
    expect(page).toEqual({ items: ["a", "b"], nextPageToken: "after:b" });
  });

  it("has no next page token on the last page, full or not", async () => {
    expect(await fetchPage(5, query([]), (last) => `after:${last}`)).toEqual({
      items: rows,
      nextPageToken: "",
    });
    expect(await fetchPage(10, query([]), (last) => `after:${last}`)).toEqual({
      items: rows,
      nextPageToken: "",
    });
    expect(await fetchPage(3, async () => [], String)).toEqual({ items: [], nextPageToken: "" });
  });
});
