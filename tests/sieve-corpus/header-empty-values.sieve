require "fileinto";
if exists "x-empty" { fileinto "Exists"; }
if header :is "x-empty" "" { fileinto "EmptyIs"; }
if header :contains "subject" "" { fileinto "EmptyContains"; }
if header :contains "x-missing" "" { fileinto "Wrong"; }
