package fhirbundle

import (
	"strconv"
	"sync"
	"time"

	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	"github.com/trialscreen/trialscreen/screening"
)

// whenDate maps a FHIR date. Dates are calendar dates: they become midnight UTC of the
// day they name, whatever zone the parser attached, because screening reads them in UTC.
func whenDate(d *dpb.Date) screening.When {
	if d == nil {
		return screening.When{}
	}
	switch d.GetPrecision() {
	case dpb.Date_YEAR:
		return calendar(d.GetValueUs(), d.GetTimezone(), screening.PrecisionYear)
	case dpb.Date_MONTH:
		return calendar(d.GetValueUs(), d.GetTimezone(), screening.PrecisionMonth)
	case dpb.Date_DAY:
		return calendar(d.GetValueUs(), d.GetTimezone(), screening.PrecisionDay)
	}
	return screening.When{}
}

// whenDateTime maps a FHIR dateTime: date-only values like whenDate, the rest as instants.
func whenDateTime(d *dpb.DateTime) screening.When {
	if d == nil {
		return screening.When{}
	}
	switch d.GetPrecision() {
	case dpb.DateTime_YEAR:
		return calendar(d.GetValueUs(), d.GetTimezone(), screening.PrecisionYear)
	case dpb.DateTime_MONTH:
		return calendar(d.GetValueUs(), d.GetTimezone(), screening.PrecisionMonth)
	case dpb.DateTime_DAY:
		return calendar(d.GetValueUs(), d.GetTimezone(), screening.PrecisionDay)
	case dpb.DateTime_SECOND, dpb.DateTime_MILLISECOND, dpb.DateTime_MICROSECOND:
		return instant(d.GetValueUs())
	}
	return screening.When{}
}

func whenInstant(d *dpb.Instant) screening.When {
	if d == nil || d.GetPrecision() == dpb.Instant_PRECISION_UNSPECIFIED {
		return screening.When{}
	}
	return instant(d.GetValueUs())
}

// whenPeriod picks the end of a period, else its start.
func whenPeriod(p *dpb.Period) screening.When {
	if w := whenDateTime(p.GetEnd()); w.Known() {
		return w
	}
	return whenDateTime(p.GetStart())
}

func instant(us int64) screening.When {
	return screening.When{Time: time.UnixMicro(us).UTC(), Precision: screening.PrecisionTime}
}

// calendar reads the date the value names in the zone it was parsed in.
func calendar(us int64, tz string, p screening.Precision) screening.When {
	t := time.UnixMicro(us).In(zone(tz))
	y, m, d := t.Date()
	switch p {
	case screening.PrecisionYear:
		m, d = time.January, 1
	case screening.PrecisionMonth:
		d = 1
	}
	return screening.When{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Precision: p}
}

var zones sync.Map // IANA name -> *time.Location

// zone reads the parser's timezone field: "Z", "UTC", "+hh:mm", "-hh:mm" or an IANA name.
func zone(tz string) *time.Location {
	switch tz {
	case "", "Z", "UTC":
		return time.UTC
	}
	if len(tz) == 6 && (tz[0] == '+' || tz[0] == '-') && tz[3] == ':' {
		h, err1 := strconv.Atoi(tz[1:3])
		m, err2 := strconv.Atoi(tz[4:6])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if tz[0] == '-' {
				off = -off
			}
			return time.FixedZone(tz, off)
		}
	}
	if l, ok := zones.Load(tz); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		l = time.UTC
	}
	zones.Store(tz, l)
	return l
}
