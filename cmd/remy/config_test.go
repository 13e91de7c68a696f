package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig_Webhooks(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if cfg.WebhookAllowPrivate || cfg.WebhookTimeout != 15*time.Second || !slices.Equal(cfg.WebhookRetryDelays, want) {
		t.Fatalf("defaults: %v %v %v", cfg.WebhookAllowPrivate, cfg.WebhookTimeout, cfg.WebhookRetryDelays)
	}

	cfg, err = loadConfig(env(map[string]string{
		"REMY_WEBHOOK_ALLOW_PRIVATE": "true",
		"REMY_WEBHOOK_TIMEOUT":       "2s",
		"REMY_WEBHOOK_RETRY_DELAYS":  "100ms, 1s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.WebhookAllowPrivate || cfg.WebhookTimeout != 2*time.Second || !slices.Equal(cfg.WebhookRetryDelays, []time.Duration{100 * time.Millisecond, time.Second}) {
		t.Fatalf("set: %v %v %v", cfg.WebhookAllowPrivate, cfg.WebhookTimeout, cfg.WebhookRetryDelays)
	}

	for k, v := range map[string]string{
		"REMY_WEBHOOK_ALLOW_PRIVATE": "yes please",
		"REMY_WEBHOOK_TIMEOUT":       "0s",
		"REMY_WEBHOOK_RETRY_DELAYS":  "5s,soon",
	} {
		if _, err := loadConfig(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v", k, v, err)
		}
	}
}
