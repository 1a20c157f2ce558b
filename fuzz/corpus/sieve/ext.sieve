require ["vacation", "encoded-character", "editheader", "duplicate", "include", "variables"];
vacation :days 3 :subject "${hex:41}" :addresses ["a@b.c"] text:
Hi
..there
.
;
addheader :last "X-A" "b"; deleteheader :index 1 :last "X-B";
if duplicate :header "message-id" :seconds 60 { stop; }
include :global :optional "x"; global "g"; return;
