package console

import (
	"context"
	"errors"
	"strings"
)

// Table is a table or view of a tenant, for the schema browser.
type Table struct {
	Name    string         `json:"name"`
	Kind    string         `json:"kind"` // "table" or "view"
	Columns []SchemaColumn `json:"columns"`
	Indexes []Index        `json:"indexes,omitempty"`
}

// SchemaColumn is a column of a table.
type SchemaColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	NotNull bool   `json:"not_null"`
	PK      bool   `json:"primary_key"`
}

// Index is an index of a table.
type Index struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique"`
}

// maxSchemaTables bounds what the browser lists.
const maxSchemaTables = 500

// Schema reads a ready tenant's tables, views, columns and indexes over
// its read-only console connection.
func (s *Service) Schema(ctx context.Context, tenant string) ([]Table, error) {
	c, err := s.Open(ctx, tenant, false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, s.limits().Timeout)
	defer cancel()
	var tables []Table
	err = each(ctx, c, func(scan func(...any) error) error {
		var t Table
		if err := scan(&t.Name, &t.Kind); err != nil {
			return err
		}
		tables = append(tables, t)
		return nil
	}, `SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name LIMIT ?`, maxSchemaTables)
	if err != nil {
		return nil, queryError(err, s.limits())
	}
	for i := range tables {
		t := &tables[i]
		if err := each(ctx, c, func(scan func(...any) error) error {
			var col SchemaColumn
			var pk int
			if err := scan(&col.Name, &col.Type, &col.NotNull, &pk); err != nil {
				return err
			}
			col.PK = pk > 0
			t.Columns = append(t.Columns, col)
			return nil
		}, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, t.Name); err != nil {
			return nil, queryError(err, s.limits())
		}
		if err := each(ctx, c, func(scan func(...any) error) error {
			var ix Index
			var cols string
			if err := scan(&ix.Name, &ix.Unique, &cols); err != nil {
				return err
			}
			if cols != "" {
				ix.Columns = strings.Split(cols, "\x1f")
			}
			t.Indexes = append(t.Indexes, ix)
			return nil
		}, `SELECT il.name, il."unique", coalesce((SELECT group_concat(coalesce(ii.name, '(expression)'), char(31)) FROM pragma_index_info(il.name) ii), '')
			FROM pragma_index_list(?) il WHERE il.origin != 'pk' OR il."unique" ORDER BY il.name`, t.Name); err != nil {
			return nil, queryError(err, s.limits())
		}
	}
	return tables, nil
}

// each runs q and calls fn for each row.
func each(ctx context.Context, c Conn, fn func(scan func(...any) error) error, q string, args ...any) error {
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}
