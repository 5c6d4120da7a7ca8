package web_test

import (
	"testing"

	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/views/pages"
)

// TestRolloutFormSpeaksTheService: the rollout form's modes and confirm
// word are the ones the service reads (views import nothing internal, so
// they keep their own copies).
func TestRolloutFormSpeaksTheService(t *testing.T) {
	for page, svc := range map[string]string{pages.RolloutDryRun: schema.ModeDryRun, pages.RolloutCanary: schema.ModeCanary,
		pages.RolloutNamed: schema.ModeNamed, pages.RolloutFull: schema.ModeFull, pages.ConfirmWord: schema.ConfirmWord} {
		if page != svc {
			t.Errorf("the page says %q, the service %q", page, svc)
		}
	}
}
