require "vacation";
vacation :days 3 :subject "Out of office" :from "me@example.com"
  :handle "ooo-2026" "Back on the 10th.";
