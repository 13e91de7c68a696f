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

func TestLoadConfig_PhoneRegion(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "REMY_PHONE_REGION" {
				return v
			}
			return ""
		}
	}
	for v, want := range map[string]string{"": "US", "gb": "GB", "DE": "DE"} {
		cfg, err := loadConfig(env(v))
		if err != nil || cfg.PhoneRegion != want {
			t.Errorf("REMY_PHONE_REGION=%q: %q, %v; want %q", v, cfg.PhoneRegion, err, want)
		}
	}
	for _, v := range []string{"XX", "USA", "+1"} {
		if _, err := loadConfig(env(v)); err == nil || !strings.Contains(err.Error(), "REMY_PHONE_REGION") {
			t.Errorf("REMY_PHONE_REGION=%q: error %v", v, err)
		}
	}
}
