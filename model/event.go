package model

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event is one change as webhooks deliver it and the change feed serves it:
// the same JSON both ways, so one handler can take either.
type Event struct {
	ID        uuid.UUID `json:"id" format:"uuid" doc:"The Activity Log entry's id (and the webhook-id header): the same event always has the same id."`
	Type      string    `json:"type" doc:"The event type, as the Activity Log's action." example:"contact.updated"`
	Timestamp time.Time `json:"timestamp" doc:"When the change was made (the entry's createdAt)."`
	Data      EventData `json:"data"`

	// At is the event's place in the change feed (not part of its JSON).
	At FeedPosition `json:"-"`
}

// Position is where a feed continues after e.
func (e Event) Position() FeedPosition { return e.At }

// EventData is the resource the event is about, as it was right after the
// change (before, for a deletion), and the Activity Log entry recording it
// (absent for webhook.ping).
type EventData struct {
	Object   json.RawMessage `json:"object" doc:"The resource as the API shows it (a Contact for contact.*, a Note for note.*): right after the change, or as it was when deleted."`
	Activity *Activity       `json:"activity,omitempty" doc:"The Activity Log entry of the change, with its changes."`
}

// FeedEventTypes are the event types the change feed serves (every
// deliverable action but webhook.ping, which is no change).
var FeedEventTypes = []string{ActionContactCreated, ActionContactUpdated, ActionContactDeleted,
	ActionNoteCreated, ActionNoteUpdated, ActionNoteDeleted}

// FeedPosition is a place in an account's change feed: after the event at
// (XID, Seq). Snapshot, when set, is the database snapshot a "now" cursor
// was taken in ("xmin:xmax:xip,…"): events already committed then are not
// served again, whatever their position.
type FeedPosition struct {
	XID      uint64
	Seq      int64
	Snapshot string
}

// Before reports whether p comes before q.
func (p FeedPosition) Before(q FeedPosition) bool {
	return p.XID < q.XID || p.XID == q.XID && p.Seq < q.Seq
}

// ErrMalformedCursor is a cursor that is not one, or is another account's.
var ErrMalformedCursor = errors.New("malformed cursor")

const cursorVersion = 1

// accountTag ties a cursor to its account without naming the account.
func accountTag(account uuid.UUID) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(account[:])
	return h.Sum32()
}

// EncodeCursor writes p as the opaque cursor string of account's feed.
func EncodeCursor(account uuid.UUID, p FeedPosition) string {
	b := make([]byte, 0, 32+len(p.Snapshot))
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint32(b, accountTag(account))
	b = binary.BigEndian.AppendUint64(b, p.XID)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Seq))
	b = append(b, p.Snapshot...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor of account's feed; ErrMalformedCursor for
// anything else.
func DecodeCursor(account uuid.UUID, s string) (FeedPosition, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 21 || b[0] != cursorVersion || binary.BigEndian.Uint32(b[1:5]) != accountTag(account) {
		return FeedPosition{}, ErrMalformedCursor
	}
	p := FeedPosition{XID: binary.BigEndian.Uint64(b[5:13]), Seq: int64(binary.BigEndian.Uint64(b[13:21]))}
	if p.Seq < 0 {
		return FeedPosition{}, ErrMalformedCursor
	}
	if snap := string(b[21:]); snap != "" {
		if !validSnapshot(snap) {
			return FeedPosition{}, ErrMalformedCursor
		}
		p.Snapshot = snap
	}
	return p, nil
}

// validSnapshot checks the "xmin:xmax:xip,…" form of a pg_snapshot, so
// that nothing but digits ever reaches the database from a cursor.
func validSnapshot(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || len(s) > 4096 {
		return false
	}
	nums := append(parts[:2:2], strings.Split(parts[2], ",")...)
	if parts[2] == "" {
		nums = parts[:2]
	}
	for _, n := range nums {
		if _, err := strconv.ParseUint(n, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// SnapshotXmax is the xmax of a pg_snapshot text: from there on, no
// transaction was visible in it.
func SnapshotXmax(snap string) uint64 {
	parts := strings.Split(snap, ":")
	if len(parts) < 2 {
		return 0
	}
	x, _ := strconv.ParseUint(parts[1], 10, 64)
	return x
}

// FeedPage is one page of the change feed.
type FeedPage struct {
	Events  []Event
	Next    FeedPosition
	HasMore bool
	// Pending: events after the cursor have committed but are not served
	// yet, because an older transaction is still running.
	Pending bool
}

// ErrCursorExpired is a cursor older than the feed's retention: events
// after it were pruned.
var ErrCursorExpired = errors.New("cursor expired")
