<#-- Identity providers as full-width buttons, labelled from the messages bundle (idp.<alias>)
     so that "phone" reads 短信验证码登录 in zh-CN and in English in en. -->
<#macro show social>
  <div class="${properties.kcLoginMainFooterBand!}">
      <span class="${properties.kcLoginMainFooterBandItem!} ${properties.kcLoginMainFooterHelperText!}">
          ${msg("identity-provider-login-label")}
      </span>
  </div>
  <div id="kc-social-providers" class="${properties.kcFormSocialAccountSectionClass!}">
      <ul class="${properties.kcFormSocialAccountListClass!}">
          <#list social.providers as p>
              <#assign key = "idp." + p.alias>
              <#assign label = msg(key)>
              <#if label == key><#assign label = p.displayName!p.alias></#if>
              <li class="${properties.kcFormSocialAccountListItemClass!}">
                  <a data-once-link data-disabled-class="${properties.kcFormSocialAccountListButtonDisabledClass!}" id="social-${p.alias}"
                     class="${properties.kcButtonSecondaryClass!} ${properties.kcButtonBlockClass!} facade-idp facade-idp-${p.alias}"
                     aria-label="${label}" type="button" href="${p.loginUrl}">
                      <span class="${properties.kcFormSocialAccountNameClass!}">${label}</span>
                  </a>
              </li>
          </#list>
      </ul>
  </div>
</#macro>
