require "fileinto";
if size :over 100 { fileinto "Over100"; }
if size :under 10K { fileinto "Under10K"; }
if size :over 1M { fileinto "Wrong"; }
