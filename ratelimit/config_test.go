package ratelimit

import (
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	defaults := Config{
		Table:    "limits",
		Messages: Limit{Rate: 10, Burst: 20},
		Bytes:    Limit{Rate: 65536, Burst: 131072},
		Connects: Limit{Rate: 10.0 / 60, Burst: 10},
	}
	tests := []struct {
		name    string
		env     map[string]string
		table   string
		want    Config
		wantErr []string // substrings the error must name; nil for success
	}{
		{name: "defaults", table: "limits", want: defaults},
		{
			name:  "all set",
			table: "limits",
			env: map[string]string{
				EnvMessagesPerSecond: "2.5", EnvMessagesBurst: "5",
				EnvBytesPerSecond: "1000", EnvBytesBurst: "4000",
				EnvConnectsPerMinute: "3",
			},
			want: Config{
				Table:    "limits",
				Messages: Limit{Rate: 2.5, Burst: 5},
				Bytes:    Limit{Rate: 1000, Burst: 4000},
				Connects: Limit{Rate: 3.0 / 60, Burst: 3},
			},
		},
		{
			name:  "zero turns limits off",
			table: "limits",
			env:   map[string]string{EnvMessagesPerSecond: "0", EnvBytesPerSecond: "0", EnvBytesBurst: "0", EnvConnectsPerMinute: "0"},
			want: Config{
				Table:    "limits",
				Messages: Limit{},
				Bytes:    Limit{},
				Connects: Limit{},
			},
		},
		{
			name:  "a zero burst turns its limit off",
			table: "limits",
			env:   map[string]string{EnvMessagesBurst: "0", EnvBytesBurst: "0"},
			want: Config{
				Table:    "limits",
				Messages: Limit{},
				Bytes:    Limit{},
				Connects: Limit{Rate: 10.0 / 60, Burst: 10},
			},
		},
		{
			name:  "every invalid variable is named",
			table: "limits",
			env: map[string]string{
				EnvMessagesPerSecond: "fast", EnvMessagesBurst: "-1",
				EnvBytesPerSecond: "-5", EnvBytesBurst: "1.5",
				EnvConnectsPerMinute: "NaN",
			},
			wantErr: []string{EnvMessagesPerSecond, EnvMessagesBurst, EnvBytesPerSecond, EnvBytesBurst, EnvConnectsPerMinute},
		},
		{name: "infinite rate", table: "limits", env: map[string]string{EnvBytesPerSecond: "+Inf"}, wantErr: []string{EnvBytesPerSecond}},
		{name: "empty table", table: "", wantErr: []string{"table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tt.env[k] }, tt.table)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Table != tt.want.Table || got.Messages != tt.want.Messages || got.Bytes != tt.want.Bytes || got.Connects != tt.want.Connects {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
