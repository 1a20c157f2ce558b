require "fileinto";
# the message file is 95 octets with LF line ends (99 with CRLF)
if size :over 94 { fileinto "Over94"; }
if size :over 95 { fileinto "Over95"; }
if size :under 96 { fileinto "Under96"; }
if size :under 95 { fileinto "Under95"; }
if size :over 98 { fileinto "Over98"; }
