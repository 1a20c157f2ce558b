require ["date","index","body","envelope","subaddress","copy","mailbox","reject","fileinto","relational"];
if date :zone "+0100" :index 1 :last "date" "year" "2026" { redirect :copy "a@b.c"; }
if body :content "text" :contains "x" { reject "no"; }
if envelope :detail "to" "x" { fileinto :create "x"; }
if currentdate :value "gt" "hour" "12" {}
