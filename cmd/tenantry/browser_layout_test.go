package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSidebarSpansLongPages: on a page far taller than the window
// (the API reference), the sidebar's column runs to the foot of the page
// and its menu stays in view at the bottom; at 800 px the layout neither
// overflows sideways nor squeezes the content out.
func TestBrowserSidebarSpansLongPages(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	base := c.serve().URL
	login(ctx, t, base, adminEmail, testPassword)

	type geometry struct {
		Page, Window, Sidebar, MenuTop, MainWidth, ScrollWidth, ClientWidth float64
	}
	for _, width := range []int64{1366, 800} {
		step(ctx, t, fmt.Sprintf("open the API reference %d px wide", width),
			chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(base+"/api"),
			chromedp.WaitVisible(tid("page-title")),
			chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.documentElement.scrollHeight)`),
		)
		g := get(ctx, t, "measure the layout", chromedp.Evaluate[geometry](`(() => {
			const s = document.querySelector('[data-testid="sidebar"]');
			return {
				Page: document.documentElement.scrollHeight,
				Window: window.innerHeight,
				Sidebar: s.getBoundingClientRect().height,
				MenuTop: s.firstElementChild.getBoundingClientRect().top,
				MainWidth: document.getElementById('main').getBoundingClientRect().width,
				ScrollWidth: document.documentElement.scrollWidth,
				ClientWidth: document.documentElement.clientWidth,
			};
		})()`))
		t.Logf("%d px: %+v", width, g)
		if g.Page < 2*g.Window {
			t.Fatalf("%d px: the API reference is %.0f px high in a %.0f px window: not a long page", width, g.Page, g.Window)
		}
		if g.Sidebar < g.Page-1 {
			t.Errorf("%d px: the sidebar is %.0f px high on a %.0f px page", width, g.Sidebar, g.Page)
		}
		if g.MenuTop < -1 || g.MenuTop > 1 {
			t.Errorf("%d px: scrolled to the bottom, the menu is at %.0f px, not at the top of the window", width, g.MenuTop)
		}
		if g.ScrollWidth > g.ClientWidth {
			t.Errorf("%d px: the page scrolls sideways (%.0f px in %.0f px)", width, g.ScrollWidth, g.ClientWidth)
		}
		if g.MainWidth < 0.6*float64(width) {
			t.Errorf("%d px: the content is only %.0f px wide", width, g.MainWidth)
		}
		step(ctx, t, "back to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		shot(ctx, t, fmt.Sprintf("layout-api-%d", width))
	}
}
