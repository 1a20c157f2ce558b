require "fileinto";
if allof (not exists "x-nothing",
          anyof (false, header :contains "from" "alice"),
          not anyof (false, size :over 1M)) {
  fileinto "Nested";
}
