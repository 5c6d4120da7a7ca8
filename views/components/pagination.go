package components

// pageItems lists the page numbers a pagination bar shows: the first and
// last page, and two either side of the current one; 0 stands for a gap.
func pageItems(page, pages int) []int {
	if pages <= 1 {
		return nil
	}
	var items []int
	last := 0
	for p := 1; p <= pages; p++ {
		if p == 1 || p == pages || (p >= page-2 && p <= page+2) {
			if last != 0 && p > last+1 {
				items = append(items, 0)
			}
			items = append(items, p)
			last = p
		}
	}
	return items
}
