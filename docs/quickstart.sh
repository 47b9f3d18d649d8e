#!/usr/bin/env bash
# The README's quick start as one script: run it against a kinerjad started
# with `go run ./cmd/kinerjad` (embedded default, data in ./data), from the
# repository root. It prints each answer.
set -euo pipefail
API=${API:-http://127.0.0.1:8080}
ctl() { go run ./cmd/kinerjactl "$@"; }
call() { # TOKEN METHOD PATH [BODY]
  curl -sS -X "$2" "$API$3" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' ${4:+-d "$4"}; echo; }
id_of() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }

# 1. Tokens, signed with the key kinerjad created in ./data.
HR=$(ctl token --sub hr-admin --roles HR_ADMIN)
E=199001012015031001   # employee (pelaksana)
A=198502022010012002   # her appraiser, head of Dinas Kesehatan (JPT pratama)
S=197503032000031003   # the appraiser's superior (JPT madya)
T=196504041990031004   # S's superior (JPT utama)
TE=$(ctl token --sub $E); TA=$(ctl token --sub $A); TS=$(ctl token --sub $S)

# 2. Master data: units, employees, reporting lines (HR_ADMIN).
call $HR POST /v1/units '{"id":"PEMKOT","name":"Pemerintah Kota Contoh"}'
call $HR POST /v1/units '{"id":"DINKES","name":"Dinas Kesehatan","parent_id":"PEMKOT"}'
call $HR POST /v1/employees "{\"nip\":\"$E\",\"name\":\"Budi Santoso\",\"unit_id\":\"DINKES\",\"position\":{\"kind\":\"PELAKSANA\",\"title\":\"Pengelola Data Imunisasi\"}}"
call $HR POST /v1/employees "{\"nip\":\"$A\",\"name\":\"dr. Siti Rahmawati\",\"unit_id\":\"DINKES\",\"position\":{\"kind\":\"JPT_PRATAMA\",\"title\":\"Kepala Dinas Kesehatan\"}}"
call $HR POST /v1/employees "{\"nip\":\"$S\",\"name\":\"Ir. Agus Wibowo\",\"unit_id\":\"PEMKOT\",\"position\":{\"kind\":\"JPT_MADYA\",\"title\":\"Sekretaris Daerah\"}}"
call $HR POST /v1/employees "{\"nip\":\"$T\",\"name\":\"Drs. Hendra Gunawan\",\"unit_id\":\"PEMKOT\",\"position\":{\"kind\":\"JPT_UTAMA\",\"title\":\"Kepala Daerah\"}}"
call $HR PUT /v1/employees/$E/reporting-line "{\"appraiser_nip\":\"$A\",\"appraiser_superior_nip\":\"$S\",\"effective_from\":\"2026-01-01\"}"
call $HR PUT /v1/employees/$A/reporting-line "{\"appraiser_nip\":\"$S\",\"appraiser_superior_nip\":\"$T\",\"effective_from\":\"2026-01-01\"}"

# 3. The appraiser's SKP (a JPT cites the Perjanjian Kinerja), established by S.
call $TA POST /v1/skps "{\"nip\":\"$A\",\"year\":2026,\"approach\":\"KUANTITATIF\"}"
RHK_A=$(call $TA POST /v1/skps/$A-2026/rhk '{"text":"Meningkatnya cakupan imunisasi","kind":"UTAMA","pk_ref":"PK-DINKES-2026-01"}' | id_of rhk_id)
call $TA POST /v1/skps/$A-2026/rhk/$RHK_A/indicators '{"aspect":"KUANTITAS","text":"Cakupan imunisasi dasar lengkap","target":{"value":95,"unit":"%"}}'
call $TA POST /v1/skps/$A-2026/submit
call $TS POST /v1/skps/$A-2026/establish

# 4. The employee's first SKP: an RHK cascaded from the appraiser's, an
#    indicator, submitted, established by the appraiser.
call $TE POST /v1/skps "{\"nip\":\"$E\",\"year\":2026,\"approach\":\"KUANTITATIF\"}"
RHK_E=$(call $TE POST /v1/skps/$E-2026/rhk "{\"text\":\"Terlaksananya imunisasi di 5 puskesmas\",\"kind\":\"UTAMA\",\"intervened_rhk_id\":\"$RHK_A\"}" | id_of rhk_id)
call $TE POST /v1/skps/$E-2026/rhk/$RHK_E/indicators '{"aspect":"KUANTITAS","text":"Puskesmas yang melaksanakan imunisasi","target":{"value":5,"unit":"puskesmas"}}'
call $TE POST /v1/skps/$E-2026/submit
call $TA POST /v1/skps/$E-2026/establish

# 5. A rating (the predikat is derived), issued to the employee.
call $TA PUT /v1/skps/$E-2026/evaluations/2026 '{"work_result":"SESUAI_EKSPEKTASI","behaviour":"DI_ATAS_EKSPEKTASI","rationale":"Target tercapai"}'
call $TA POST /v1/skps/$E-2026/evaluations/2026/issue

# 6. A report, as JSON and as CSV.
call $HR GET "/v1/reports/progress?unit=PEMKOT&year=2026"
curl -sS "$API/v1/reports/progress?unit=PEMKOT&year=2026&format=csv" -H "Authorization: Bearer $HR"

# 7. The audit trail verifies (AUDITOR).
AU=$(ctl token --sub auditor-1 --roles AUDITOR)
call $AU POST /v1/audit/verify
